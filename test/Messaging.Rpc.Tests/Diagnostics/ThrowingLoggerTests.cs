using Messaging.Core.Tests.Connection;
using Microsoft.Extensions.Time.Testing;

namespace Messaging.Rpc.Tests.Diagnostics;

/// <summary>
/// A logger that throws (a bug in the application's <c>ILogger</c>, a sink that fails) loses its event and nothing
/// else: a call's outcome — its error, its success — is what it would be with a working logger.
/// </summary>
public sealed class ThrowingLoggerTests
{
    private sealed record Ping(int Index);

    [Fact]
    public async Task A_throwing_logger_neither_replaces_a_failed_calls_error_nor_keeps_its_circuit_from_opening()
    {
        var ct = TestContext.Current.CancellationToken;
        var log = new ThrowingLog(static _ => true);
        var options = new RpcResilienceOptions
        {
            MaxAttempts = 1,
            CircuitBreaker = new RpcCircuitBreakerOptions { Enabled = true, FailureRatio = 1.0, MinimumThroughput = 3, SamplingDuration = TimeSpan.FromSeconds(30) },
        };
        var resilience = new CallResilience(options, new FakeTimeProvider(DateTimeOffset.UtcNow), new RpcClientLog(log));
        var pipeline = resilience.Pipeline("orders");

        for (var i = 0; i < 3; i++)
        {
            var error = await Assert.ThrowsAsync<RpcException>(async () =>
                await pipeline.ExecuteAsync(static _ => throw new RpcException(RpcStatus.Internal, "boom"), ct));
            Assert.Equal(RpcStatus.Internal, error.Status);
        }

        Assert.Equal(RpcCircuitState.Open, resilience.StateOf("orders"));
        Assert.True(log.Thrown > 0, "the logger was never asked to log the opened circuit");
    }

    [Fact]
    public async Task Behind_a_logging_interceptor_whose_logger_throws_a_call_keeps_its_own_outcome()
    {
        var log = new ThrowingLog(static _ => true);
        var interceptor = new RpcLoggingInterceptor(log);
        var context = new RpcCallContext<Ping>(RpcCallSide.Client, "orders", "Get", Guid.NewGuid(), new Ping(1), new RpcCallOptions(), TestContext.Current.CancellationToken);

        var answer = await interceptor.InterceptCallAsync<Ping, Ping>(context, static c => ValueTask.FromResult(c.Request with { Index = 2 }));
        Assert.Equal(2, answer.Index);

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await interceptor.InterceptCallAsync<Ping, Ping>(context, static _ => throw new RpcException(RpcStatus.NotFound, "no such order")));
        Assert.Equal(RpcStatus.NotFound, error.Status);
        Assert.True(log.Thrown >= 3, "the logger was asked " + log.Thrown + " time(s)");
    }
}
