using Messaging.Rpc.Tests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.Rpc.Tests.Resilience;

/// <summary>Retries of idempotent calls through the embedded broker: one correlation ID across attempts, nothing retried that is not idempotent.</summary>
public sealed class RetryTests(TestBrokerFixture fixture)
{
    public sealed record Ping(int Index, string Text);

    private static void FastRetries(RpcClientOptions options)
    {
        options.Resilience.MaxAttempts = 3;
        options.Resilience.BaseDelay = TimeSpan.FromMilliseconds(10);
    }

    [Fact(Timeout = 60_000)]
    public async Task An_idempotent_call_whose_first_attempt_the_server_fails_succeeds_under_one_correlation_id()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, FastRetries, ct);

        var reply = await rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "flaky", new Ping(1, "again"), new RpcCallOptions { Idempotent = true }, ct);

        Assert.Equal(new Ping(1, "again"), reply);
        // Both attempts carried the same correlation ID: the replier saw one ID, twice.
        var seen = Assert.Single(rpc.Replier.CorrelationIds);
        Assert.Equal(2, seen.Value);
        Assert.Equal(0, rpc.Client.PendingEntries);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_method_listed_as_idempotent_is_retried_without_saying_so_per_call()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, o =>
        {
            FastRetries(o);
            o.Resilience.IdempotentMethods = ["flaky"];
        }, ct);

        var reply = await rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "flaky", new Ping(2, "listed"), default, ct);

        Assert.Equal(new Ping(2, "listed"), reply);
        Assert.Equal(2, Assert.Single(rpc.Replier.CorrelationIds).Value);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_call_that_is_not_idempotent_is_not_retried()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, FastRetries, ct);

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "flaky", new Ping(3, "once"), default, ct).AsTask());

        Assert.Equal(RpcStatus.Unavailable, error.Status);
        Assert.Equal(1, Assert.Single(rpc.Replier.CorrelationIds).Value);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_request_the_broker_refuses_is_sent_again_for_an_idempotent_call()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, FastRetries, ct);
        var faults = rpc.Broker.Faults;
        Assert.SkipWhen(faults is null, "Produce errors are injected on the embedded broker only.");
        await rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "echo", new Ping(0, "warm"), default, ct); // the topic is warm

        faults.PushRequestErrors(ApiKey.Produce, ErrorCode.PolicyViolation);
        var reply = await rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "echo", new Ping(4, "refused once"), new RpcCallOptions { Idempotent = true }, ct);

        Assert.Equal(new Ping(4, "refused once"), reply);
        // The refused request never reached the replier; the retry did, under the call's ID.
        Assert.Equal(2, rpc.Replier.CorrelationIds.Count);
        Assert.All(rpc.Replier.CorrelationIds.Values, count => Assert.Equal(1, count));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_refused_request_fails_a_call_that_is_not_idempotent()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, FastRetries, ct);
        var faults = rpc.Broker.Faults;
        Assert.SkipWhen(faults is null, "Produce errors are injected on the embedded broker only.");
        await rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "echo", new Ping(0, "warm"), default, ct);

        faults.PushRequestErrors(ApiKey.Produce, ErrorCode.PolicyViolation);
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "echo", new Ping(5, "refused"), default, ct).AsTask());

        Assert.Equal(RpcStatus.Unavailable, error.Status);
        Assert.IsType<ProduceException>(error.InnerException);
    }

    [Fact(Timeout = 60_000)]
    public async Task An_attempt_past_its_attempt_timeout_is_retried_and_the_slow_reply_is_counted_as_a_duplicate()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, o =>
        {
            FastRetries(o);
            o.Resilience.AttemptTimeout = TimeSpan.FromMilliseconds(300);
        }, ct);
        rpc.Replier.SlowDelay = TimeSpan.FromSeconds(2);
        await rpc.Client.StartAsync(ct);

        var reply = await rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "slow-first", new Ping(6, "slow"),
            new RpcCallOptions { Idempotent = true, Timeout = TimeSpan.FromSeconds(20) }, ct);

        Assert.Equal(new Ping(6, "slow"), reply);
        Assert.Equal(2, Assert.Single(rpc.Replier.CorrelationIds).Value);
        await Conditions.WaitUntilAsync(() => rpc.Client.Statistics.DuplicateReplies == 1, TimeSpan.FromSeconds(20),
            "the first attempt's late reply arrived and was dropped as a duplicate", ct);
        Assert.Equal(0, rpc.Client.Statistics.UnmatchedReplies);
        Assert.Equal(0, rpc.Client.PendingEntries);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_retry_whose_backoff_reaches_past_the_call_deadline_fails_at_the_deadline_without_sending_again()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, o =>
        {
            o.Resilience.MaxAttempts = 3;
            o.Resilience.UseJitter = false;
            o.Resilience.BaseDelay = TimeSpan.FromSeconds(10);
            o.Resilience.MaxDelay = TimeSpan.FromSeconds(10);
        }, ct);
        await rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "echo", new Ping(0, "warm"), default, ct);

        // The first attempt fails at once (Unavailable) with time left, so it is retried — after a 10 s backoff.
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<RpcException>(() => rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "flaky", new Ping(7, "late"),
            new RpcCallOptions { Idempotent = true, Timeout = TimeSpan.FromSeconds(2) }, ct).AsTask());
        watch.Stop();

        Assert.Equal(RpcStatus.DeadlineExceeded, error.Status);
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(5));
        Assert.Equal(2, rpc.Replier.Received); // the warm-up, and the flaky call's first attempt only
        Assert.Equal(0, rpc.Client.PendingEntries);
    }
}
