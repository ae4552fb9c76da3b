using Messaging.Rpc.Tests.Support;
using Messaging.Testing.Brokers;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Polly;
using Polly.CircuitBreaker;

namespace Messaging.Rpc.Tests.Resilience;

/// <summary>The circuit breaker per request topic: opens on failures, fails fast while open, probes after the break, closes on recovery.</summary>
public sealed class CircuitBreakerTests(TestBrokerFixture fixture)
{
    public sealed record Ping(int Index);

    private static RpcResilienceOptions Breaker(TimeSpan breakDuration) => new()
    {
        MaxAttempts = 1,
        CircuitBreaker = new RpcCircuitBreakerOptions
        {
            Enabled = true,
            FailureRatio = 1.0,
            MinimumThroughput = 3,
            SamplingDuration = TimeSpan.FromSeconds(30),
            BreakDuration = breakDuration,
        },
    };

    [Fact]
    public async Task On_a_fake_clock_three_failures_open_the_circuit_a_probe_after_the_break_closes_it()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var resilience = new CallResilience(Breaker(TimeSpan.FromSeconds(5)), time, new RpcClientLog(NullLogger.Instance));
        var pipeline = resilience.Pipeline("orders");
        var attempts = 0;
        var healthy = false;

        async Task<RpcStatus> CallAsync()
        {
            try
            {
                await pipeline.ExecuteAsync(_ =>
                {
                    attempts++;
                    return healthy ? ValueTask.CompletedTask : throw new RpcException(RpcStatus.Internal, "boom");
                }, ct);
                return RpcStatus.Ok;
            }
            catch (RpcException e)
            {
                return e.Status;
            }
            catch (BrokenCircuitException)
            {
                return RpcStatus.Unavailable; // what the client turns it into
            }
        }

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(RpcStatus.Internal, await CallAsync());
        }

        Assert.Equal(RpcCircuitState.Open, resilience.StateOf("orders"));
        Assert.Equal(RpcStatus.Unavailable, await CallAsync());
        Assert.Equal(3, attempts); // failed fast: the call never ran
        Assert.Equal(RpcCircuitState.Closed, resilience.StateOf("payments")); // per topic

        time.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(RpcStatus.Unavailable, await CallAsync()); // still within the break
        Assert.Equal(3, attempts);

        time.Advance(TimeSpan.FromSeconds(1));
        healthy = true;
        Assert.Equal(RpcStatus.Ok, await CallAsync()); // the probe
        Assert.Equal(4, attempts);
        Assert.Equal(RpcCircuitState.Closed, resilience.StateOf("orders"));
    }

    [Fact]
    public async Task A_failed_probe_opens_the_circuit_again_and_the_caller_s_own_limits_do_not_count_as_failures()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var resilience = new CallResilience(Breaker(TimeSpan.FromSeconds(5)), time, new RpcClientLog(NullLogger.Instance));
        async Task FailAsync(string topic, RpcStatus status)
        {
            try
            {
                await resilience.Pipeline(topic).ExecuteAsync(_ => throw new RpcException(status, "x"), ct);
            }
            catch (Exception e) when (e is RpcException or BrokenCircuitException)
            {
            }
        }

        for (var i = 0; i < 5; i++)
        {
            await FailAsync("orders", RpcStatus.ResourceExhausted); // the client's own bound
            await FailAsync("orders", RpcStatus.Cancelled);         // the caller gave up
        }

        Assert.Equal(RpcCircuitState.Closed, resilience.StateOf("orders")); // ten outcomes, none a failure

        await FailAsync("payments", RpcStatus.Unavailable);
        await FailAsync("payments", RpcStatus.Internal);
        await FailAsync("payments", RpcStatus.DeadlineExceeded);
        Assert.Equal(RpcCircuitState.Open, resilience.StateOf("payments"));

        time.Advance(TimeSpan.FromSeconds(5));
        await FailAsync("payments", RpcStatus.Unavailable); // the probe fails
        Assert.Equal(RpcCircuitState.Open, resilience.StateOf("payments"));
    }

    [Theory]
    [InlineData(RpcStatus.Cancelled)]
    [InlineData(RpcStatus.ResourceExhausted)]
    public async Task A_probe_that_says_nothing_of_the_service_does_not_close_the_circuit(RpcStatus neutral)
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var resilience = new CallResilience(Breaker(TimeSpan.FromSeconds(5)), time, new RpcClientLog(NullLogger.Instance));
        async Task CallAsync(RpcStatus status)
        {
            try
            {
                await resilience.Pipeline("payments").ExecuteAsync(_ => status == RpcStatus.Ok ? ValueTask.CompletedTask : throw new RpcException(status, "x"), ct);
            }
            catch (Exception e) when (e is RpcException or BrokenCircuitException)
            {
            }
        }

        await CallAsync(RpcStatus.Unavailable);
        await CallAsync(RpcStatus.Internal);
        await CallAsync(RpcStatus.DeadlineExceeded);
        Assert.Equal(RpcCircuitState.Open, resilience.StateOf("payments"));

        // The probe's caller gave up, or the client's own bounds refused it: nothing was learnt of the service. Before,
        // such a probe closed the circuit, and every call went to the service that had just failed them all.
        time.Advance(TimeSpan.FromSeconds(5));
        await CallAsync(neutral);
        Assert.Equal(RpcCircuitState.Open, resilience.StateOf("payments"));

        time.Advance(TimeSpan.FromSeconds(5));
        await CallAsync(RpcStatus.Ok); // a probe the service answers closes it
        Assert.Equal(RpcCircuitState.Closed, resilience.StateOf("payments"));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_failing_service_opens_the_circuit_calls_fail_fast_and_it_closes_after_the_service_recovers()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, o => o.Resilience = Breaker(TimeSpan.FromMilliseconds(500)), ct);
        var (client, replier, requests) = (rpc.Client, rpc.Replier, rpc.Requests);
        replier.Failing = true;

        for (var i = 0; i < 3; i++)
        {
            var failed = await Assert.ThrowsAsync<RpcException>(() => client.CallAsync<Ping, Ping>(requests, "health", new Ping(i), default, ct).AsTask());
            Assert.Equal(RpcStatus.Internal, failed.Status);
        }

        Assert.Equal(RpcCircuitState.Open, client.GetCircuitState(requests));
        var received = replier.Received;
        var fast = await Assert.ThrowsAsync<RpcException>(() => client.CallAsync<Ping, Ping>(requests, "health", new Ping(9), default, ct).AsTask());
        Assert.Equal(RpcStatus.Unavailable, fast.Status);
        Assert.IsType<BrokenCircuitException>(fast.InnerException);
        Assert.Equal(received, replier.Received); // nothing was sent
        Assert.Contains(client.CircuitStates, s => s.Key == requests && s.Value == RpcCircuitState.Open);

        replier.Failing = false;
        // Calls fail fast until the break is over; then the probe goes through and succeeds.
        var end = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            try
            {
                Assert.Equal(new Ping(10), await client.CallAsync<Ping, Ping>(requests, "health", new Ping(10), default, ct));
                break;
            }
            catch (RpcException e) when (e.InnerException is BrokenCircuitException)
            {
                Assert.True(DateTime.UtcNow < end, "no probe succeeded within 20 s of the service's recovery");
                await Task.Delay(20, ct);
            }
        }

        Assert.Equal(RpcCircuitState.Closed, client.GetCircuitState(requests));
        Assert.Equal(new Ping(11), await client.CallAsync<Ping, Ping>(requests, "health", new Ping(11), default, ct));
    }
}
