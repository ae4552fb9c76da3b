namespace Messaging.Rpc;

/// <summary>
/// The names to subscribe to for the RPC layer's traces and metrics: OpenTelemetry's
/// <c>AddSource(RpcTelemetry.ActivitySourceName)</c> and <c>AddMeter(RpcTelemetry.MeterName)</c>, or an
/// <c>ActivityListener</c> / <c>MeterListener</c>. Tag names follow the OpenTelemetry semantic conventions for RPC
/// (<c>rpc.*</c>) and messaging (<c>messaging.*</c>).
/// </summary>
public static class RpcTelemetry
{
    /// <summary>The activity source of RPC calls (client spans now; server spans from the same source): <c>Messaging.Rpc</c>.</summary>
    public const string ActivitySourceName = "Messaging.Rpc";

    /// <summary>The meter of RPC calls, replies, retries, hedges and circuit breakers: <c>Messaging.Rpc</c>.</summary>
    public const string MeterName = "Messaging.Rpc";

    /// <summary>The value of <see cref="SystemTag"/>: <c>kafka</c>.</summary>
    public const string SystemValue = "kafka";

    /// <summary>The RPC system tag (<c>rpc.system</c>).</summary>
    public const string SystemTag = "rpc.system";

    /// <summary>The service tag (<c>rpc.service</c>): the request topic.</summary>
    public const string ServiceTag = "rpc.service";

    /// <summary>The method tag (<c>rpc.method</c>).</summary>
    public const string MethodTag = "rpc.method";

    /// <summary>The status tag (<c>rpc.response.status_code</c>): the <see cref="RpcStatus"/> name, <c>Ok</c> on success.</summary>
    public const string StatusTag = "rpc.response.status_code";

    /// <summary>The reason a reply was dropped (<c>reason</c>): <c>unmatched</c>, <c>duplicate</c> or <c>malformed</c>.</summary>
    public const string ReasonTag = "reason";

    /// <summary>The circuit breaker state tag and gauge values: 0 closed, 1 half-open, 2 open.</summary>
    public const string CircuitStateTag = "rpc.circuit.state";

    /// <summary>The W3C trace context header carrying the caller's span (<c>traceparent</c>), as OpenTelemetry's Kafka instrumentations write it.</summary>
    public const string TraceParentHeader = KafkaTraceContext.TraceParentHeader;

    /// <summary>The W3C trace state header (<c>tracestate</c>), written when the caller's span has a trace state.</summary>
    public const string TraceStateHeader = KafkaTraceContext.TraceStateHeader;
}
