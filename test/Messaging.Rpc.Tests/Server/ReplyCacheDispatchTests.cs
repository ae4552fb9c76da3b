using System.Text;

namespace Messaging.Rpc.Tests.Server;

/// <summary>The reply cache in the server's dispatch: a redelivered or retried request is answered without running again.</summary>
public sealed class ReplyCacheDispatchTests
{
    [Fact]
    public async Task A_duplicate_request_gets_the_stored_reply_and_the_handler_runs_once()
    {
        var harness = new DispatchHarness(o => o.ReplyCache.Enabled = true);
        var ran = 0;
        harness.Map<EchoRequest, EchoReply>("Echo", (request, context) =>
        {
            Interlocked.Increment(ref ran);
            return ValueTask.FromResult(new EchoReply(request.Text + ran, context.Method));
        });
        var id = Guid.NewGuid();

        var (_, first) = await harness.RunAsync(DispatchHarness.Headers("Echo", id), DispatchHarness.Json("""{"text":"hi"}"""));
        var (_, second) = await harness.RunAsync(DispatchHarness.Headers("Echo", id, "other-replies", 2), DispatchHarness.Json("""{"text":"hi"}"""));

        Assert.Equal(1, ran);
        Assert.Equal(RpcStatus.Ok, second!.Status);
        Assert.Equal(Encoding.UTF8.GetString(first!.Value), Encoding.UTF8.GetString(second.Value));
        Assert.Equal("other-replies", second.Topic); // answered where the duplicate asked
        Assert.Equal("application/json", Encoding.UTF8.GetString(second.Headers["messaging_rpc_content_type"]));
        Assert.Equal(1, harness.Counters.ReplyCacheHits);
    }

    [Fact]
    public async Task An_application_error_is_replayed_but_a_deadline_failure_runs_again()
    {
        var harness = new DispatchHarness(o => o.ReplyCache.Enabled = true);
        var ran = 0;
        harness.Map<EchoRequest, EchoReply>("Fail", (_, _) =>
        {
            Interlocked.Increment(ref ran);
            throw new RpcException(RpcStatus.NotFound, "no such order");
        });
        harness.Map<EchoRequest, EchoReply>("Slow", (_, _) =>
        {
            Interlocked.Increment(ref ran);
            throw new RpcException(RpcStatus.DeadlineExceeded, "too slow");
        });

        var failed = Guid.NewGuid();
        await harness.RunAsync(DispatchHarness.Headers("Fail", failed), DispatchHarness.Json("{}"));
        var (_, replayed) = await harness.RunAsync(DispatchHarness.Headers("Fail", failed), DispatchHarness.Json("{}"));
        Assert.Equal(RpcStatus.NotFound, replayed!.Status);
        Assert.Equal("no such order", replayed.Error);
        Assert.Equal(1, ran);

        var slow = Guid.NewGuid();
        await harness.RunAsync(DispatchHarness.Headers("Slow", slow), DispatchHarness.Json("{}"));
        await harness.RunAsync(DispatchHarness.Headers("Slow", slow), DispatchHarness.Json("{}"));
        Assert.Equal(3, ran);
    }

    [Fact]
    public async Task Without_the_cache_a_duplicate_runs_again()
    {
        var harness = new DispatchHarness();
        var ran = 0;
        harness.Map<EchoRequest, EchoReply>("Echo", (request, _) =>
        {
            Interlocked.Increment(ref ran);
            return ValueTask.FromResult(new EchoReply(request.Text, ""));
        });
        var id = Guid.NewGuid();
        await harness.RunAsync(DispatchHarness.Headers("Echo", id), DispatchHarness.Json("""{"text":"hi"}"""));
        await harness.RunAsync(DispatchHarness.Headers("Echo", id), DispatchHarness.Json("""{"text":"hi"}"""));
        Assert.Equal(2, ran);
    }
}
