namespace Messaging.Rpc;

/// <summary>
/// A circuit breaker per request topic (Polly's, see <c>docs/rpc.md</c>): when, within <see cref="SamplingDuration"/>,
/// at least <see cref="MinimumThroughput"/> calls finished and the share that failed reached <see cref="FailureRatio"/>,
/// the circuit opens: calls to the topic fail at once with <see cref="RpcStatus.Unavailable"/> for
/// <see cref="BreakDuration"/>; then one probe call goes through, and its outcome closes the circuit or opens it again
/// (a probe its caller cancels, or the client's own limits refuse, says nothing of the service: it opens it again).
/// "N consecutive failures" is <see cref="FailureRatio"/> 1.0 with <see cref="MinimumThroughput"/> N. Failures are
/// outcomes that say the service is unwell: <see cref="RpcStatus.Unavailable"/>, <see cref="RpcStatus.DeadlineExceeded"/>,
/// <see cref="RpcStatus.Internal"/>, <see cref="RpcStatus.Unknown"/>, <see cref="RpcStatus.DataLoss"/> — not the
/// caller's cancellation or the client's own limits. Plain settable properties, bindable from configuration.
/// </summary>
public sealed class RpcCircuitBreakerOptions
{
    /// <summary>Whether calls go through a circuit breaker per request topic. Default false.</summary>
    public bool Enabled { get; set; }

    /// <summary>The share of failed calls in the window that opens the circuit, in (0, 1]. Default 0.5.</summary>
    public double FailureRatio { get; set; } = 0.5;

    /// <summary>The fewest calls in the window before the ratio counts (at least 2). Default 10.</summary>
    public int MinimumThroughput { get; set; } = 10;

    /// <summary>The window over which calls are counted (at least 0.5 s, at most 1 day). Default 30 s.</summary>
    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the circuit stays open before a probe (at least 0.5 s, at most 1 day). Default 5 s.</summary>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A copy of these settings, for a client to keep.</summary>
    internal RpcCircuitBreakerOptions Copy() => (RpcCircuitBreakerOptions)MemberwiseClone();

    internal void Validate()
    {
        if (!Enabled)
        {
            return;
        }

        if (!(FailureRatio > 0 && FailureRatio <= 1))
        {
            throw new ArgumentOutOfRangeException("CircuitBreaker.FailureRatio", FailureRatio, "must be greater than 0 and at most 1");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(MinimumThroughput, 2, "CircuitBreaker.MinimumThroughput");
        ArgumentOutOfRangeException.ThrowIfLessThan(SamplingDuration, TimeSpan.FromMilliseconds(500), "CircuitBreaker.SamplingDuration");
        ArgumentOutOfRangeException.ThrowIfLessThan(BreakDuration, TimeSpan.FromMilliseconds(500), "CircuitBreaker.BreakDuration");
        ArgumentOutOfRangeException.ThrowIfGreaterThan(SamplingDuration, RpcResilienceOptions.MaxPollyTime, "CircuitBreaker.SamplingDuration");
        ArgumentOutOfRangeException.ThrowIfGreaterThan(BreakDuration, RpcResilienceOptions.MaxPollyTime, "CircuitBreaker.BreakDuration");
    }
}
