using Messaging.Rpc.Tests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.Rpc.Tests.Client;

/// <summary>Calls whose deadline is far away (beyond one timer's ~49.7 days, or centuries ahead).</summary>
public sealed class FarDeadlineCallTests(TestBrokerFixture fixture)
{
    public sealed record Ping(int Client, int Index, string Text);

    [Fact(Timeout = 60_000)]
    public async Task A_first_call_to_a_topic_with_a_60_day_timeout_gets_its_reply()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, null, ct);
        await rpc.Client.StartAsync(ct);

        // The topic is not known yet: the call looks it up first, waiting up to the call's remaining time.
        var pong = await rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "echo", new Ping(1, 1, "far"), new RpcCallOptions { Timeout = TimeSpan.FromDays(60) }, ct);

        Assert.Equal(new Ping(1, 1, "far"), pong);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_one_way_send_with_a_60_day_timeout_is_sent()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, null, ct);
        // Warm the topic up with a normal call, so the topic lookup is not what fails.
        await rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "echo", new Ping(1, 0, "warm"), default, ct);

        await rpc.Client.SendAsync(rpc.Requests, "notify", new Ping(1, 1, "far"), new RpcCallOptions { Timeout = TimeSpan.FromDays(60) }, ct);

        await Conditions.WaitUntilAsync(() => rpc.Replier.Received == 2, TimeSpan.FromSeconds(10), "the one-way request arrived", ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_call_with_a_deadline_centuries_away_does_not_fail_with_DeadlineExceeded_at_once()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, null, ct);
        var client = rpc.Client;
        // Warm the topic up with a normal call, so the topic lookup is not what fails.
        await client.CallAsync<Ping, Ping>(rpc.Requests, "echo", new Ping(1, 0, "warm"), default, ct);

        // Never answered: the far call must stay pending; the control call fails at its 2 s timeout.
        var far = client.CallAsync<Ping, Ping>(rpc.Requests, "ignore", new Ping(1, 1, "far"),
            new RpcCallOptions { Deadline = DateTimeOffset.UtcNow.AddYears(1000) }, ct).AsTask();
        var control = client.CallAsync<Ping, Ping>(rpc.Requests, "ignore", new Ping(1, 2, "control"),
            new RpcCallOptions { Timeout = TimeSpan.FromSeconds(2) }, ct).AsTask();

        var first = await Task.WhenAny(far, control);

        var farError = far.IsCompleted ? await Assert.ThrowsAsync<RpcException>(() => far) : null;
        Assert.True(ReferenceEquals(first, control), "the call due in 1000 years ended first: " + farError?.Status + " after " + farError?.Elapsed);
        Assert.Equal(RpcStatus.DeadlineExceeded, (await Assert.ThrowsAsync<RpcException>(() => control)).Status);
        Assert.False(far.IsCompleted);
        Assert.Equal(1, client.PendingEntries);
    }

    [Fact(Timeout = 60_000)]
    public async Task After_a_call_with_a_deadline_centuries_away_other_calls_still_fail_at_their_deadlines()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, null, ct);
        var client = rpc.Client;
        await client.CallAsync<Ping, Ping>(rpc.Requests, "echo", new Ping(1, 0, "warm"), default, ct);

        // "No deadline", as a caller may spell it. Whatever becomes of this call, the others must keep their deadlines.
        var far = client.CallAsync<Ping, Ping>(rpc.Requests, "ignore", new Ping(1, 1, "far"),
            new RpcCallOptions { Deadline = DateTimeOffset.MaxValue }, ct).AsTask();
        await Conditions.WaitUntilAsync(() => far.IsCompleted || client.PendingEntries == 1, TimeSpan.FromSeconds(10), "the far call was entered", ct);

        var control = client.CallAsync<Ping, Ping>(rpc.Requests, "ignore", new Ping(1, 2, "control"),
            new RpcCallOptions { Timeout = TimeSpan.FromSeconds(1) }, ct).AsTask();

        // Bounded wait for the condition (the control's deadline is 1 s): 20 s without it means deadlines stopped.
        var error = await Assert.ThrowsAsync<RpcException>(() => control.WaitAsync(TimeSpan.FromSeconds(20), ct));
        Assert.Equal(RpcStatus.DeadlineExceeded, error.Status);
    }

    [Fact(Timeout = 60_000)]
    public async Task Calls_and_one_way_sends_with_a_timeout_of_TimeSpan_MaxValue_are_sent()
    {
        var ct = TestContext.Current.CancellationToken;
        // "No timeout", as a caller may spell it: for a call, as the client's default, and for one attempt of an idempotent call.
        await using var rpc = await RpcHarness.StartAsync(fixture, o =>
        {
            o.DefaultTimeout = TimeSpan.MaxValue;
            o.Resilience.AttemptTimeout = TimeSpan.MaxValue;
        }, ct);
        var client = rpc.Client;
        var forever = new RpcCallOptions { Timeout = TimeSpan.MaxValue };

        Assert.Equal(new Ping(1, 1, "a"), await client.CallAsync<Ping, Ping>(rpc.Requests, "echo", new Ping(1, 1, "a"), forever, ct));
        Assert.Equal(new Ping(1, 2, "b"), await client.CallAsync<Ping, Ping>(rpc.Requests, "echo", new Ping(1, 2, "b"), default, ct));
        Assert.Equal(new Ping(1, 3, "c"), await client.CallAsync<Ping, Ping>(rpc.Requests, "echo", new Ping(1, 3, "c"), new RpcCallOptions { Idempotent = true }, ct));
        await client.SendAsync(rpc.Requests, "notify", new Ping(1, 4, "d"), forever, ct);

        await Conditions.WaitUntilAsync(() => rpc.Replier.Received == 4, TimeSpan.FromSeconds(10), "the one-way request arrived", ct);
        Assert.All(rpc.Replier.Deadlines, d => Assert.Equal(DateTimeOffset.MaxValue.ToUnixTimeMilliseconds(), d));
    }
}
