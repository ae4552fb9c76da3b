using Messaging.Rpc.Tests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.Rpc.Tests.Server;

/// <summary>A drain timeout longer than one timer can wait (~49.7 days, or <see cref="TimeSpan.MaxValue"/> for "as long as it takes") is honoured, not refused mid-shutdown or mid-rebalance.</summary>
public sealed class LongDrainTimeoutTests(TestBrokerFixture fixture)
{
    public sealed record Call(int Index);

    public sealed record Answer(int Index, string Server);

    [Fact(Timeout = 120_000)]
    public async Task Disposing_with_an_unbounded_drain_timeout_waits_for_the_running_handler_and_closes()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await ServerTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = new RpcServer(ServerTestSupport.Options(broker.BootstrapServers, requests, ServerTestSupport.NewGroup(), "s",
            o => o.DrainTimeout = TimeSpan.MaxValue));
        server.Map<Call, Answer>("Slow", async (call, _) =>
        {
            started.TrySetResult();
            await release.Task;
            return new Answer(call.Index, "s");
        });
        await server.StartAsync(ct);
        await ServerTestSupport.AssignedAsync(ct, server);
        await using var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies));
        var call = client.CallAsync<Call, Answer>(requests, "Slow", new Call(7), new RpcCallOptions { Timeout = TimeSpan.FromSeconds(60) }, ct).AsTask();
        await started.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);

        var disposing = server.DisposeAsync().AsTask();
        release.SetResult();
        var error = await Record.ExceptionAsync(() => disposing);

        Assert.Null(error);
        Assert.Equal(7, (await call).Index);
        Assert.Equal(1, server.Statistics.Replies);
    }

    [Fact]
    public async Task A_revocation_with_an_unbounded_drain_timeout_does_not_fail_the_listener()
    {
        var ct = TestContext.Current.CancellationToken;
        var options = new RpcServerOptions { BootstrapServers = "localhost:9", RequestTopics = ["requests"], GroupId = "group", DrainTimeout = TimeSpan.MaxValue };
        options.Validate();
        options = options.Copy(); // as the server uses them: the consumer's options with the server's cluster and group
        var harness = new DispatchHarness();
        await using var consumer = new KafkaConsumer(options.Consumer); // never subscribed: it connects to nothing
        var loop = new RequestLoop(options, consumer, harness.Reader, harness.Dispatcher, harness.Counters);
        var partition = new TopicPartition("requests", 0);
        await loop.OnPartitionsAssignedAsync([partition], ct);

        var error = await Record.ExceptionAsync(() => loop.OnPartitionsRevokedAsync([partition], ct).AsTask());

        Assert.Null(error);
        Assert.Empty(loop.Assignment);
        await loop.DisposeAsync();
    }
}
