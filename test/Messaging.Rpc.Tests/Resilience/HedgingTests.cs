using System.Diagnostics;
using Messaging.Rpc.Tests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.Rpc.Tests.Resilience;

/// <summary>Hedged calls: a second request after the hedging delay, first reply wins, the loser's reply dropped and counted.</summary>
public sealed class HedgingTests(TestBrokerFixture fixture)
{
    public sealed record Ping(int Index, string Text);

    private static void Hedged(RpcClientOptions options)
    {
        options.Resilience.MaxAttempts = 1;
        options.Resilience.Hedging.Enabled = true;
        options.Resilience.Hedging.Delay = TimeSpan.FromMilliseconds(100);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_hedged_call_to_a_slow_instance_returns_at_the_fast_latency_and_the_slow_reply_is_a_dropped_duplicate()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, Hedged, ct);
        rpc.Replier.SlowDelay = TimeSpan.FromSeconds(4);
        await rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "echo", new Ping(0, "warm"), default, ct); // hedges go to warm topics

        var watch = Stopwatch.StartNew();
        var reply = await rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "slow-first", new Ping(1, "hedged"),
            new RpcCallOptions { Idempotent = true, Timeout = TimeSpan.FromSeconds(20) }, ct);
        var latency = watch.Elapsed;

        Assert.Equal(new Ping(1, "hedged"), reply);
        Assert.True(latency < TimeSpan.FromSeconds(3), "the hedge answered well before the slow reply (4 s); took " + latency);
        Assert.Equal(2, rpc.Replier.CorrelationIds.Values.Max()); // the same correlation ID, sent twice
        await Conditions.WaitUntilAsync(() => rpc.Client.Statistics.DuplicateReplies == 1, TimeSpan.FromSeconds(20),
            "the slow reply arrived and was dropped as a duplicate", ct);
        Assert.Equal(0, rpc.Client.Statistics.UnmatchedReplies);
        Assert.Equal(0, rpc.Client.PendingEntries);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_call_answered_within_the_hedging_delay_sends_one_request()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, o =>
        {
            Hedged(o);
            o.Resilience.Hedging.Delay = TimeSpan.FromSeconds(10);
        }, ct);
        await rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "echo", new Ping(0, "warm"), default, ct);

        await rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "echo", new Ping(2, "fast"), new RpcCallOptions { Idempotent = true }, ct);

        Assert.Equal(2, rpc.Replier.CorrelationIds.Count);
        Assert.All(rpc.Replier.CorrelationIds.Values, count => Assert.Equal(1, count));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_hedging_delay_beyond_the_call_deadline_sends_no_hedge_and_the_call_gets_its_reply()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, o =>
        {
            Hedged(o);
            o.Resilience.Hedging.Delay = TimeSpan.FromDays(60); // longer than one timer can wait
        }, ct);
        await rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "echo", new Ping(0, "warm"), default, ct);

        var reply = await rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "echo", new Ping(4, "long delay"),
            new RpcCallOptions { Idempotent = true, Timeout = TimeSpan.FromSeconds(20) }, ct);

        Assert.Equal(new Ping(4, "long delay"), reply);
        Assert.All(rpc.Replier.CorrelationIds.Values, count => Assert.Equal(1, count));
        Assert.Equal(0, rpc.Client.PendingEntries);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_call_that_is_not_idempotent_is_never_hedged()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, Hedged, ct);
        rpc.Replier.SlowDelay = TimeSpan.FromMilliseconds(600);
        await rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "echo", new Ping(0, "warm"), default, ct);

        var reply = await rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "slow-first", new Ping(3, "not hedged"), default, ct);

        Assert.Equal(new Ping(3, "not hedged"), reply);
        Assert.All(rpc.Replier.CorrelationIds.Values, count => Assert.Equal(1, count));
    }
}
