namespace Messaging;

/// <summary>
/// The names to subscribe to for the client's metrics, for <c>MeterListener</c> or OpenTelemetry's
/// <c>AddMeter(KafkaTelemetry.MeterName, KafkaTelemetry.PoolsMeterName)</c>, and for its spans,
/// <c>AddSource(KafkaTelemetry.ActivitySourceName)</c>.
/// </summary>
public static class KafkaTelemetry
{
    /// <summary>
    /// The activity source of produce and consume spans (OpenTelemetry's messaging conventions: <c>send {topic}</c>
    /// from producers, <c>receive {topic}</c> from consumers, linked to the producer's span through the record's
    /// <c>traceparent</c> header): <c>Messaging.Kafka</c>. Spans are made only while a listener samples them; otherwise
    /// producing and consuming cost one check.
    /// </summary>
    public const string ActivitySourceName = "Messaging.Kafka";

    /// <summary>The meter of connections, requests, request latency per API, bytes in and out, reconnects: <c>Messaging.Kafka</c>.</summary>
    public const string MeterName = "Messaging.Kafka";

    /// <summary>The meter of the memory pools (rents, returns, misses, retained and allocated bytes, tagged by pool): <c>Messaging.Kafka.Pools</c>.</summary>
    public const string PoolsMeterName = "Messaging.Kafka.Pools";

    /// <summary>The tag that names the client (its <c>ClientId</c>) on every measurement of <see cref="MeterName"/>.</summary>
    public const string ClientIdTag = "client.id";

    /// <summary>The tag that names the API on request measurements.</summary>
    public const string ApiTag = "api";
}
