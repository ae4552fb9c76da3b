namespace Messaging;

/// <summary>
/// The names to subscribe to for the client's metrics, for <c>MeterListener</c> or OpenTelemetry's
/// <c>AddMeter(KafkaTelemetry.MeterName, KafkaTelemetry.PoolsMeterName)</c>.
/// </summary>
public static class KafkaTelemetry
{
    /// <summary>The meter of connections, requests, request latency per API, bytes in and out, reconnects: <c>Messaging.Kafka</c>.</summary>
    public const string MeterName = "Messaging.Kafka";

    /// <summary>The meter of the memory pools (rents, returns, misses, retained and allocated bytes, tagged by pool): <c>Messaging.Kafka.Pools</c>.</summary>
    public const string PoolsMeterName = "Messaging.Kafka.Pools";

    /// <summary>The tag that names the client (its <c>ClientId</c>) on every measurement of <see cref="MeterName"/>.</summary>
    public const string ClientIdTag = "client.id";

    /// <summary>The tag that names the API on request measurements.</summary>
    public const string ApiTag = "api";
}
