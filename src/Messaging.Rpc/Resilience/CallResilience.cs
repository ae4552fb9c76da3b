using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Diagnostics;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;

namespace Messaging.Rpc;

/// <summary>
/// The client's resilience: which calls are idempotent, the Polly pipelines their attempts run through (retries with
/// exponential backoff and jitter for idempotent calls; a circuit breaker per request topic for every call), and the
/// hedging delay per method. Polly drives when to try again and when to fail fast; each attempt is the client's own
/// (<see cref="RpcClient"/>), so every attempt reuses the call's correlation ID — which is why hedging is not Polly's:
/// a hedge here is one more request record for the same pending call, not a second call (see <c>docs/rpc.md</c>).
/// </summary>
internal sealed class CallResilience : ICircuitStateSource
{
    /// <summary>The logical call an attempt belongs to, for the predicates and callbacks (one property per call, no boxing).</summary>
    public static readonly ResiliencePropertyKey<CallAttempts> CallKey = new("Messaging.Rpc.Call");

    private readonly RpcResilienceOptions _options;
    private readonly FrozenSet<string> _idempotentMethods;
    private readonly TimeProvider _time;
    private readonly RpcClientLog _log;
    private readonly ResiliencePipeline? _retryOnly;
    private readonly ConcurrentDictionary<string, TopicBreaker> _breakers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, LatencyWindow> _latencies = new(StringComparer.Ordinal);

    public CallResilience(RpcResilienceOptions options, TimeProvider time, RpcClientLog log)
    {
        _options = options;
        _idempotentMethods = options.IdempotentMethods.ToFrozenSet(StringComparer.Ordinal);
        _time = time;
        _log = log;
        if (!options.CircuitBreaker.Enabled && options.MaxAttempts > 1)
        {
            var builder = new ResiliencePipelineBuilder { TimeProvider = time };
            AddRetry(builder);
            _retryOnly = builder.Build();
        }
    }

    public IEnumerable<KeyValuePair<string, RpcCircuitState>> CircuitStates
    {
        get
        {
            foreach (var (topic, breaker) in _breakers)
            {
                yield return new KeyValuePair<string, RpcCircuitState>(topic, breaker.State);
            }
        }
    }

    public bool IsIdempotent(string method, in RpcCallOptions options) => options.Idempotent || _idempotentMethods.Contains(method);

    public bool Hedging => _options.Hedging.Enabled;

    /// <summary>Whether a call takes the resilient path at all: the plain path is the client's fastest.</summary>
    public bool Applies(bool idempotent) => _options.CircuitBreaker.Enabled || (idempotent && (_options.MaxAttempts > 1 || _options.Hedging.Enabled));

    /// <summary>Whether a call's failed attempts may be retried (after a backoff).</summary>
    public bool Retries(bool idempotent) => idempotent && _options.MaxAttempts > 1;

    /// <summary>The pipeline a call's attempts run through: the topic's breaker (with the retry inside it), or retries only, or none.</summary>
    public ResiliencePipeline Pipeline(string topic) =>
        _options.CircuitBreaker.Enabled ? _breakers.GetOrAdd(topic, static (t, self) => self.CreateBreaker(t), this).Pipeline : _retryOnly ?? ResiliencePipeline.Empty;

    /// <summary>The state of the topic's breaker; closed when it has none.</summary>
    public RpcCircuitState StateOf(string topic) => _breakers.TryGetValue(topic, out var breaker) ? breaker.State : RpcCircuitState.Closed;

    /// <summary>How long an attempt of <paramref name="method"/> waits before its hedge: its observed p95, or the fixed delay.</summary>
    public TimeSpan HedgeDelay(string method)
    {
        var hedging = _options.Hedging;
        return hedging.UseObservedP95 && _latencies.TryGetValue(method, out var window) && window.P95(hedging.MinimumSamples) is { } p95 ? p95 : hedging.Delay;
    }

    /// <summary>Records a successful call's latency for the observed p95 (only when hedging uses it).</summary>
    public void RecordSuccess(string method, TimeSpan elapsed)
    {
        if (_options.Hedging is { Enabled: true, UseObservedP95: true })
        {
            _latencies.GetOrAdd(method, static _ => new LatencyWindow()).Record(elapsed);
        }
    }

    /// <summary>How long one attempt may wait: the attempt timeout when set, never past the call's deadline.</summary>
    public DateTimeOffset AttemptDeadline(DateTimeOffset deadline, bool idempotent) =>
        idempotent && _options.AttemptTimeout is { } attempt && FarDeadline.After(_time.GetUtcNow(), attempt) is var end && end < deadline ? end : deadline;

    /// <summary>Whether a failed attempt's outcome allows another: a retryable status, and time left before the call's deadline.</summary>
    private bool ShouldRetry(ResilienceContext context, Exception? error)
    {
        if (!context.Properties.TryGetValue(CallKey, out var call) || !call.Idempotent || error is not RpcException e)
        {
            return false;
        }

        var retryable = e.Status switch
        {
            // Unavailable: a failed send, a server saying so — but not a disposed client.
            RpcStatus.Unavailable => e.InnerException is not ObjectDisposedException,
            // DeadlineExceeded of one attempt (its attempt timeout), not of the call.
            RpcStatus.DeadlineExceeded => true,
            _ => false,
        };
        return retryable && call.Deadline > _time.GetUtcNow();
    }

    /// <summary>Outcomes that say nothing of the service either way: the caller's cancellation, the client's own limits.</summary>
    private static bool SaysNothing(Exception? error) => error is RpcException { Status: RpcStatus.Cancelled or RpcStatus.ResourceExhausted };

    /// <summary>Outcomes that say the service is unwell (not the caller's cancellation, not the client's own limits).</summary>
    private static bool IsFailure(Exception? error) => error is RpcException e && e.Status switch
    {
        RpcStatus.Unavailable => e.InnerException is not ObjectDisposedException,
        RpcStatus.DeadlineExceeded or RpcStatus.Internal or RpcStatus.Unknown or RpcStatus.DataLoss => true,
        _ => false,
    };

    private void AddRetry(ResiliencePipelineBuilder builder) => builder.AddRetry(new RetryStrategyOptions
    {
        MaxRetryAttempts = _options.MaxAttempts - 1,
        BackoffType = DelayBackoffType.Exponential,
        UseJitter = _options.UseJitter,
        Delay = _options.BaseDelay,
        MaxDelay = _options.MaxDelay,
        ShouldHandle = args => new ValueTask<bool>(ShouldRetry(args.Context, args.Outcome.Exception)),
        OnRetry = args =>
        {
            if (args.Context.Properties.TryGetValue(CallKey, out var call))
            {
                RpcMetrics.Shared.Retried(call.Topic, call.Method);
                Activity.Current?.AddEvent(new ActivityEvent("retry"));
                _log.Retrying(call.Method, call.Topic, args.AttemptNumber + 2, call.CorrelationId, args.RetryDelay.TotalMilliseconds,
                    (args.Outcome.Exception as RpcException)?.Status ?? RpcStatus.Unknown);
            }

            return default;
        },
    });

    private TopicBreaker CreateBreaker(string topic)
    {
        var breaker = new TopicBreaker();
        var settings = _options.CircuitBreaker;
        var builder = new ResiliencePipelineBuilder { TimeProvider = _time };
        if (_options.MaxAttempts > 1)
        {
            AddRetry(builder); // outside the breaker: every attempt counts, and an open circuit stops the retries
        }

        builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions
        {
            FailureRatio = settings.FailureRatio,
            MinimumThroughput = settings.MinimumThroughput,
            SamplingDuration = settings.SamplingDuration,
            BreakDuration = settings.BreakDuration,
            StateProvider = breaker.Provider,
            // A probe (half-open) that says nothing of the service — its caller cancelled it, or the client's own bounds
            // refused it — counts as failed: Polly would take it as a success and close the circuit unasked.
            ShouldHandle = args => new ValueTask<bool>(IsFailure(args.Outcome.Exception)
                || (breaker.Provider.CircuitState == CircuitState.HalfOpen && SaysNothing(args.Outcome.Exception))),
            OnOpened = args =>
            {
                _log.CircuitOpened(topic, args.BreakDuration.TotalMilliseconds, args.Outcome.Exception?.Message ?? "failures");
                return default;
            },
            OnHalfOpened = _ =>
            {
                _log.CircuitHalfOpened(topic);
                return default;
            },
            OnClosed = _ =>
            {
                _log.CircuitClosed(topic);
                return default;
            },
        });
        breaker.Pipeline = builder.Build();
        return breaker;
    }

    private sealed class TopicBreaker
    {
        public CircuitBreakerStateProvider Provider { get; } = new();

        public ResiliencePipeline Pipeline { get; set; } = ResiliencePipeline.Empty;

        public RpcCircuitState State => Provider.CircuitState switch
        {
            CircuitState.Open or CircuitState.Isolated => RpcCircuitState.Open,
            CircuitState.HalfOpen => RpcCircuitState.HalfOpen,
            _ => RpcCircuitState.Closed,
        };
    }
}
