namespace Messaging.Rpc.Tests.Server;

/// <summary>The global limit, the per-method limit and one-request-per-key, and that releasing gives every slot back.</summary>
public sealed class AdmissionControlTests
{
    [Fact]
    public void The_server_is_full_at_its_global_limit_until_a_request_finishes()
    {
        var admission = new AdmissionControl(maxInFlight: 2, keysInOrder: false);
        var method = Method("A", limit: 10);
        var first = Request(method);
        var second = Request(method);

        Assert.Equal(Admission.Admitted, admission.TryAdmit(first));
        Assert.Equal(Admission.Admitted, admission.TryAdmit(second));
        Assert.Equal(Admission.ServerFull, admission.TryAdmit(Request(method)));

        admission.Release(first);
        Assert.Equal(Admission.Admitted, admission.TryAdmit(Request(method)));
        Assert.Equal(2, admission.InFlight);
    }

    [Fact]
    public void A_full_method_does_not_stop_other_methods()
    {
        var admission = new AdmissionControl(maxInFlight: 10, keysInOrder: false);
        var slow = Method("Slow", limit: 2);
        var fast = Method("Fast", limit: 2);
        var held = Request(slow);
        admission.TryAdmit(held);
        admission.TryAdmit(Request(slow));

        Assert.Equal(Admission.MethodFull, admission.TryAdmit(Request(slow)));
        Assert.Equal(Admission.Admitted, admission.TryAdmit(Request(fast)));
        Assert.Equal(2, slow.Running);

        admission.Release(held);
        Assert.Equal(1, slow.Running);
        Assert.Equal(Admission.Admitted, admission.TryAdmit(Request(slow)));
    }

    [Fact]
    public void Requests_for_no_method_take_only_a_global_slot()
    {
        var admission = new AdmissionControl(maxInFlight: 1, keysInOrder: true);
        var unknown = new ServerRequest { Key = new byte[] { 1 } };

        Assert.Equal(Admission.Admitted, admission.TryAdmit(unknown));
        Assert.False(unknown.HoldsKey);
        admission.Release(unknown);
        Assert.Equal(0, admission.InFlight);
    }

    [Fact]
    public void With_keys_in_order_a_key_runs_one_request_at_a_time_and_a_refusal_holds_nothing()
    {
        var admission = new AdmissionControl(maxInFlight: 10, keysInOrder: true);
        var method = Method("A", limit: 10);
        var first = Request(method, key: [7]);

        Assert.Equal(Admission.Admitted, admission.TryAdmit(first));
        Assert.Equal(Admission.KeyBusy, admission.TryAdmit(Request(method, key: [7])));
        Assert.Equal(Admission.Admitted, admission.TryAdmit(Request(method, key: [8])));
        Assert.Equal(Admission.Admitted, admission.TryAdmit(Request(method, key: null)));
        Assert.Equal(Admission.Admitted, admission.TryAdmit(Request(method, key: null)));
        Assert.Equal(4, method.Running); // the refused one gave its method slot back
        Assert.Equal(4, admission.InFlight);

        admission.Release(first);
        Assert.Equal(Admission.Admitted, admission.TryAdmit(Request(method, key: [7])));
    }

    [Fact]
    public void Without_keys_in_order_the_same_key_runs_concurrently()
    {
        var admission = new AdmissionControl(maxInFlight: 10, keysInOrder: false);
        var method = Method("A", limit: 10);

        Assert.Equal(Admission.Admitted, admission.TryAdmit(Request(method, key: [7])));
        Assert.Equal(Admission.Admitted, admission.TryAdmit(Request(method, key: [7])));
    }

    [Fact]
    public void Per_method_limits_come_from_the_options_and_never_exceed_the_global_one()
    {
        var options = new RpcServerOptions { MaxConcurrentRequests = 50, MaxConcurrentRequestsPerMethod = 20 };
        options.MethodConcurrency["Big"] = 500;
        options.MethodConcurrency["Small"] = 3;

        Assert.Equal(20, options.LimitFor("Other"));
        Assert.Equal(50, options.LimitFor("Big"));
        Assert.Equal(3, options.LimitFor("Small"));
    }

    private static RawRpcMethod Method(string name, int limit) => new(name, limit, new HandlerPipeline([], enterCallContext: false), (payload, _) => ValueTask.FromResult(payload));

    private static ServerRequest Request(RpcMethod method, byte[]? key = null) => new() { Method = method, Key = key is null ? (ReadOnlyMemory<byte>?)null : key };
}
