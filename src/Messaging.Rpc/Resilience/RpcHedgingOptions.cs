namespace Messaging.Rpc;

/// <summary>
/// Hedging of idempotent calls: when an attempt has no reply after <see cref="Delay"/> (or the method's observed p95
/// latency with <see cref="UseObservedP95"/>), the request is sent once more under the same correlation ID; the first
/// reply completes the call, and the other, when it comes, is dropped and counted as a duplicate. Costs a second
/// request on the slow tail only. Plain settable properties, bindable from configuration.
/// </summary>
public sealed class RpcHedgingOptions
{
    /// <summary>Whether idempotent calls are hedged. Default false.</summary>
    public bool Enabled { get; set; }

    /// <summary>How long an attempt waits for its reply before the hedged request goes. Default 100 ms.</summary>
    public TimeSpan Delay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Whether the delay is the method's p95 latency over its recent successful calls (once it has
    /// <see cref="MinimumSamples"/>), with <see cref="Delay"/> until then. Default false.
    /// </summary>
    public bool UseObservedP95 { get; set; }

    /// <summary>How many successful calls of a method are needed before its observed p95 is used. Default 20.</summary>
    public int MinimumSamples { get; set; } = 20;

    /// <summary>A copy of these settings, for a client to keep.</summary>
    internal RpcHedgingOptions Copy() => (RpcHedgingOptions)MemberwiseClone();

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(Delay, TimeSpan.Zero, "Hedging.Delay");
        ArgumentOutOfRangeException.ThrowIfLessThan(MinimumSamples, 1, "Hedging.MinimumSamples");
    }
}
