using Messaging.Rpc.Tests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.Rpc.Tests.Server;

/// <summary>Shutdown with a handler that ignores its token: the server waits for it once, not again when it leaves its group.</summary>
public sealed class ShutdownDrainTests(TestBrokerFixture fixture)
{
    public sealed record Call(int Index);

    public sealed record Answer(int Index);

    [Fact(Timeout = 120_000)]
    public async Task A_handler_that_ignores_its_token_is_abandoned_after_the_drain_and_grace_and_leaving_the_group_does_not_wait_for_it_again()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await ServerTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        var time = new ManualTimeProvider();
        var drainTimeout = TimeSpan.FromSeconds(10);
        var grace = TimeSpan.FromSeconds(1); // RpcServer's CancelGrace
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = new RpcServer(ServerTestSupport.Options(broker.BootstrapServers, requests, ServerTestSupport.NewGroup(), "s", o =>
        {
            o.TimeProvider = time; // the server's own waits (drain, grace, revocation) move only when the test says so
            o.DrainTimeout = drainTimeout;
        }));
        server.Map<Call, Answer>("Stuck", async (call, context) =>
        {
            context.CancellationToken.Register(() => cancelled.TrySetResult());
            started.TrySetResult();
            await release.Task; // ignores its token
            return new Answer(call.Index);
        });
        await server.StartAsync(ct);
        await ServerTestSupport.AssignedAsync(ct, server);
        await using var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies));
        var call = client.CallAsync<Call, Answer>(requests, "Stuck", new Call(1), new RpcCallOptions { Timeout = TimeSpan.FromSeconds(60) }, ct).AsTask();
        await started.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);

        var origin = time.GetUtcNow();
        var disposing = server.DisposeAsync().AsTask();
        try
        {
            // The drain runs out: the handler's token fires.
            await Conditions.WaitUntilAsync(() =>
            {
                time.Advance(TimeSpan.FromMilliseconds(100));
                return cancelled.Task.IsCompleted;
            }, TimeSpan.FromSeconds(30), "the drain times out and the handler's token fires", ct);

            // The grace passes too (with room to spare, less than a second drain timeout).
            await Conditions.WaitUntilAsync(() =>
            {
                time.Advance(TimeSpan.FromMilliseconds(100));
                return time.GetUtcNow() - origin >= drainTimeout + grace + TimeSpan.FromSeconds(2);
            }, TimeSpan.FromSeconds(30), "the grace passes", ct);

            // From here the clock stands still: what is left (commit, leave, close) must not wait on it.
            await Conditions.WaitUntilAsync(() => disposing.IsCompleted, TimeSpan.FromSeconds(30),
                "disposal completes without a second drain timeout", ct);
            await disposing;
        }
        finally
        {
            release.TrySetResult();
            for (var i = 0; i < 100 && !disposing.IsCompleted; i++)
            {
                time.Advance(drainTimeout);
                await Task.WhenAny(disposing, Task.Delay(100, ct));
            }

            await disposing;
        }

        Assert.False(call.IsCompletedSuccessfully);
    }
}
