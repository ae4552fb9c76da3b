namespace Messaging.Rpc;

/// <summary>
/// How <see cref="RpcClient"/> rides out failures. Retries and hedging apply only to idempotent calls — a call with
/// <see cref="RpcCallOptions.Idempotent"/> set, or to a method listed in <see cref="IdempotentMethods"/> — because
/// either may make the server run the request twice; every attempt carries the call's one correlation ID. The
/// circuit breaker applies to every call. Plain settable properties, bindable from configuration.
/// </summary>
public sealed class RpcResilienceOptions
{
    /// <summary>The most attempts of an idempotent call, the first included (1 = no retries). Default 3.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>
    /// The backoff before the first retry; it doubles per retry (exponential), with jitter. At most 1 day (Polly's
    /// bound). Default 50 ms.
    /// </summary>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>The longest backoff, at most 1 day (Polly's bound). Default 2 s.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Whether backoffs are jittered (decorrelated, so that failed callers do not retry in step). Default true.</summary>
    public bool UseJitter { get; set; } = true;

    /// <summary>
    /// How long one attempt of an idempotent call waits for its reply before it counts as failed with
    /// <see cref="RpcStatus.DeadlineExceeded"/> and is retried (within the call's deadline); null (the default) gives
    /// each attempt whatever remains of the call's deadline.
    /// </summary>
    public TimeSpan? AttemptTimeout { get; set; }

    /// <summary>Methods whose calls are idempotent without saying so per call (ordinal names).</summary>
    public IList<string> IdempotentMethods { get; set; } = [];

    /// <summary>The circuit breaker per request topic (off by default).</summary>
    public RpcCircuitBreakerOptions CircuitBreaker { get; set; } = new();

    /// <summary>Hedging of idempotent calls (off by default).</summary>
    public RpcHedgingOptions Hedging { get; set; } = new();

    /// <summary>The longest backoff, sampling window or break Polly's strategies take.</summary>
    internal static readonly TimeSpan MaxPollyTime = TimeSpan.FromDays(1);

    /// <summary>A copy of these settings and their nested ones (read per call and per request topic), for a client to keep.</summary>
    internal RpcResilienceOptions Copy()
    {
        var copy = (RpcResilienceOptions)MemberwiseClone();
        copy.IdempotentMethods = [.. IdempotentMethods];
        copy.CircuitBreaker = CircuitBreaker.Copy();
        copy.Hedging = Hedging.Copy();
        return copy;
    }

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxAttempts, 1, nameof(MaxAttempts));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxAttempts, 100, nameof(MaxAttempts));
        ArgumentOutOfRangeException.ThrowIfLessThan(BaseDelay, TimeSpan.Zero, nameof(BaseDelay));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxDelay, BaseDelay, nameof(MaxDelay));

        // Polly's own bounds, checked here so a setting beyond them is refused by name when the client is built, not
        // by Polly's ValidationException (for a breaker's pipeline: at every call to the topic).
        ArgumentOutOfRangeException.ThrowIfGreaterThan(BaseDelay, MaxPollyTime, nameof(BaseDelay));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxDelay, MaxPollyTime, nameof(MaxDelay));
        if (AttemptTimeout is { } attempt)
        {
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(attempt, TimeSpan.Zero, nameof(AttemptTimeout));
        }

        ArgumentNullException.ThrowIfNull(IdempotentMethods, nameof(IdempotentMethods));
        ArgumentNullException.ThrowIfNull(CircuitBreaker, nameof(CircuitBreaker));
        ArgumentNullException.ThrowIfNull(Hedging, nameof(Hedging));
        CircuitBreaker.Validate();
        Hedging.Validate();
    }
}
