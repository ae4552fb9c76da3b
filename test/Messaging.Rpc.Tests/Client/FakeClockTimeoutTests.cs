using Messaging.Rpc.Tests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.Rpc.Tests.Client;

/// <summary>The client's own timeouts run on its <see cref="RpcClientOptions.TimeProvider"/>: a fake clock moved past them ends the wait at once.</summary>
public sealed class FakeClockTimeoutTests(TestBrokerFixture fixture)
{
    public sealed record Ping(int Index, string Text);

    [Fact(Timeout = 60_000)]
    public async Task A_start_that_cannot_reach_the_cluster_fails_when_the_clock_passes_StartTimeout()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new ManualTimeProvider();
        // Nothing listens there: the start keeps trying until its StartTimeout (ten minutes on the fake clock) runs out.
        await using var client = new RpcClient(RpcTestSupport.Options("127.0.0.1:1", "replies", o =>
        {
            o.TimeProvider = time;
            o.StartTimeout = TimeSpan.FromMinutes(10);
        }));

        var start = client.StartAsync(ct);
        time.Advance(TimeSpan.FromMinutes(11));

        await Conditions.WaitUntilAsync(() => start.IsCompleted, TimeSpan.FromSeconds(10), "the start failed at its StartTimeout on the fake clock", ct);
        var error = await Assert.ThrowsAsync<RpcException>(() => start);
        Assert.Equal(RpcStatus.Unavailable, error.Status);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_one_way_send_the_broker_does_not_acknowledge_fails_when_the_clock_passes_its_deadline()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new ManualTimeProvider();
        await using var rpc = await RpcHarness.StartAsync(fixture, o => o.TimeProvider = time, ct);
        var faults = rpc.Broker.Faults;
        Assert.SkipWhen(faults is null, "Delays are injected on the embedded broker only.");
        await rpc.Client.SendAsync(rpc.Requests, "ignore", new Ping(0, "warm"), default, ct); // the topic is known and the producer has its metadata
        for (var broker = 1; broker <= rpc.Broker.BrokerCount; broker++)
        {
            faults.PushBrokerRequestErrors(broker, ApiKey.Produce, (ErrorCode.None, TimeSpan.FromSeconds(30)));
        }

        var send = rpc.Client.SendAsync(rpc.Requests, "ignore", new Ping(1, "unacknowledged"), new RpcCallOptions { Timeout = TimeSpan.FromMinutes(1) }, ct).AsTask();
        time.Advance(TimeSpan.FromMinutes(2));

        await Conditions.WaitUntilAsync(() => send.IsCompleted, TimeSpan.FromSeconds(10), "the one-way send failed at its deadline on the fake clock", ct);
        var error = await Assert.ThrowsAsync<RpcException>(() => send);
        Assert.Equal(RpcStatus.DeadlineExceeded, error.Status);
    }
}
