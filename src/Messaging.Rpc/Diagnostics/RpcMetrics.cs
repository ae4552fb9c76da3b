using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Messaging.Rpc;

/// <summary>
/// The RPC layer's instruments, on the <c>Messaging.Rpc</c> meter (<see cref="RpcTelemetry.MeterName"/>). One
/// process-wide set: measurements carry the service (request topic) and method, so several clients add up as
/// OpenTelemetry expects. Instruments cost one flag check until a listener subscribes; tag values are the caller's
/// strings and cached status names, so a measurement allocates nothing.
/// </summary>
#pragma warning disable CA1001 // One process-wide meter, alive as long as the process: nothing to dispose it for.
internal sealed class RpcMetrics
#pragma warning restore CA1001
{
    public static readonly RpcMetrics Shared = new();

    private static readonly string[] StatusNames = BuildStatusNames();

    private readonly Meter _meter = new(RpcTelemetry.MeterName, "1.0");

    /// <summary>The circuit breakers whose state the gauge reports: registered by the clients that own them, removed at their disposal.</summary>
    private readonly ConcurrentDictionary<ICircuitStateSource, byte> _breakers = new();

    private RpcMetrics()
    {
        ClientDuration = _meter.CreateHistogram("rpc.client.duration", unit: "ms",
            description: "Duration of RPC client calls, from the call to its outcome (retries and hedges included).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [1, 2, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 10000, 30000] });
        ClientCalls = _meter.CreateCounter<long>("messaging.rpc.client.calls", description: "RPC client calls completed, by service, method and status.");
        PendingCalls = _meter.CreateUpDownCounter<long>("messaging.rpc.client.pending_calls", description: "Calls waiting for their replies.");
        DroppedReplies = _meter.CreateCounter<long>("messaging.rpc.client.replies.dropped",
            description: "Replies dropped: unmatched (late, or another client's), duplicate (a call already answered, after a hedge or retry), malformed.");
        Retries = _meter.CreateCounter<long>("messaging.rpc.client.retries", description: "Attempts of idempotent calls after the first (same correlation id).");
        Hedges = _meter.CreateCounter<long>("messaging.rpc.client.hedges", description: "Hedged requests sent for calls that had no reply within the hedging delay.");
        _meter.CreateObservableGauge("messaging.rpc.client.circuit_breaker.state", ObserveBreakers,
            description: "Circuit breaker state per request topic: 0 closed, 1 half-open, 2 open.");
        ServerDuration = _meter.CreateHistogram("rpc.server.duration", unit: "ms",
            description: "Duration of requests a server handled, from taking the request to its reply's acknowledgement.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [1, 2, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 10000, 30000] });
        ServerRequests = _meter.CreateCounter<long>("messaging.rpc.server.requests",
            description: "Requests a server answered or refused, by service, method (" + OtherMethod + " for a name it does not know) and status.");
        ExpiredRequests = _meter.CreateCounter<long>("messaging.rpc.server.requests.expired",
            description: "Requests a server skipped because their deadline had passed before the handler could run.");
        ReplyCacheHits = _meter.CreateCounter<long>("messaging.rpc.server.reply_cache.hits",
            description: "Duplicate requests a server answered from its reply cache instead of running the handler again.");
    }

    /// <summary>The method tag of a request whose method the server does not know: bounded cardinality, as the OpenTelemetry conventions ask.</summary>
    public const string OtherMethod = "_OTHER";

    public Histogram<double> ClientDuration { get; }

    public Counter<long> ClientCalls { get; }

    public UpDownCounter<long> PendingCalls { get; }

    public Counter<long> DroppedReplies { get; }

    public Counter<long> Retries { get; }

    public Counter<long> Hedges { get; }

    public Histogram<double> ServerDuration { get; }

    public Counter<long> ServerRequests { get; }

    public Counter<long> ExpiredRequests { get; }

    public Counter<long> ReplyCacheHits { get; }

    public static string StatusName(RpcStatus status) => (uint)status < (uint)StatusNames.Length ? StatusNames[(int)status] : "Unknown";

    /// <summary>Records a finished call: its duration and its count, by service, method and status.</summary>
    public void RecordCall(string topic, string method, RpcStatus status, TimeSpan elapsed)
    {
        if (!ClientDuration.Enabled && !ClientCalls.Enabled)
        {
            return;
        }

        var tags = new TagList
        {
            { RpcTelemetry.SystemTag, RpcTelemetry.SystemValue },
            { RpcTelemetry.ServiceTag, topic },
            { RpcTelemetry.MethodTag, method },
            { RpcTelemetry.StatusTag, StatusName(status) },
        };
        ClientDuration.Record(elapsed.TotalMilliseconds, tags);
        ClientCalls.Add(1, tags);
    }

    /// <summary>Records a request a server finished (answered, refused, or run without a reply route): its duration and its count.</summary>
    public void RecordServerRequest(string topic, string? method, RpcStatus status, TimeSpan elapsed)
    {
        if (!ServerDuration.Enabled && !ServerRequests.Enabled)
        {
            return;
        }

        var tags = new TagList
        {
            { RpcTelemetry.SystemTag, RpcTelemetry.SystemValue },
            { RpcTelemetry.ServiceTag, topic },
            { RpcTelemetry.MethodTag, method ?? OtherMethod },
            { RpcTelemetry.StatusTag, StatusName(status) },
        };
        ServerDuration.Record(elapsed.TotalMilliseconds, tags);
        ServerRequests.Add(1, tags);
    }

    public void Expired(string topic, string method) =>
        ExpiredRequests.Add(1, new KeyValuePair<string, object?>(RpcTelemetry.ServiceTag, topic), new KeyValuePair<string, object?>(RpcTelemetry.MethodTag, method));

    public void ReplyCacheHit(string topic, string method) =>
        ReplyCacheHits.Add(1, new KeyValuePair<string, object?>(RpcTelemetry.ServiceTag, topic), new KeyValuePair<string, object?>(RpcTelemetry.MethodTag, method));

    public void Dropped(string reason) => DroppedReplies.Add(1, new KeyValuePair<string, object?>(RpcTelemetry.ReasonTag, reason));

    public void Retried(string topic, string method) =>
        Retries.Add(1, new KeyValuePair<string, object?>(RpcTelemetry.ServiceTag, topic), new KeyValuePair<string, object?>(RpcTelemetry.MethodTag, method));

    public void Hedged(string topic, string method) =>
        Hedges.Add(1, new KeyValuePair<string, object?>(RpcTelemetry.ServiceTag, topic), new KeyValuePair<string, object?>(RpcTelemetry.MethodTag, method));

    public void Register(ICircuitStateSource breakers) => _breakers.TryAdd(breakers, 0);

    public void Unregister(ICircuitStateSource breakers) => _breakers.TryRemove(breakers, out _);

    private static string[] BuildStatusNames()
    {
        var names = new string[(int)RpcWire.HighestStatus + 1];
        for (var i = 0; i < names.Length; i++)
        {
            names[i] = ((RpcStatus)i).ToString();
        }

        return names;
    }

    private IEnumerable<Measurement<int>> ObserveBreakers()
    {
        foreach (var source in _breakers.Keys)
        {
            foreach (var (topic, state) in source.CircuitStates)
            {
                yield return new Measurement<int>((int)state, new KeyValuePair<string, object?>(RpcTelemetry.ServiceTag, topic));
            }
        }
    }
}
