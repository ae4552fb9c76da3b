using System.Diagnostics.Metrics;

namespace Messaging.Diagnostics;

/// <summary>
/// The client's counters, on the <c>Messaging.Kafka</c> meter: connections, requests in flight, request latency
/// per API, bytes in and out, reconnects; every measurement is tagged with the client's <c>client.id</c>.
/// Instruments cost nothing until a listener subscribes.
/// </summary>
#pragma warning disable CA1001 // One process-wide meter, alive as long as the process: nothing to dispose it for.
internal sealed class KafkaMetrics
#pragma warning restore CA1001
{
    /// <summary>The meter's name (<see cref="KafkaTelemetry.MeterName"/>).</summary>
    public const string MeterName = KafkaTelemetry.MeterName;

    public static readonly KafkaMetrics Shared = new();

    // API names as tag values: strings, so tagging a measurement boxes nothing.
    private static readonly string[] ApiNames = BuildApiNames();

    private readonly Meter _meter = new(MeterName, "1.0");

    private KafkaMetrics()
    {
        Connections = _meter.CreateUpDownCounter<int>("messaging.kafka.connections", description: "Open broker connections.");
        RequestsInFlight = _meter.CreateUpDownCounter<int>("messaging.kafka.requests.in_flight", description: "Requests sent and not yet answered.");
        RequestDuration = _meter.CreateHistogram<double>("messaging.kafka.request.duration", unit: "ms", description: "Time from sending a request to reading its response, per API.");
        BytesSent = _meter.CreateCounter<long>("messaging.kafka.bytes.sent", unit: "By", description: "Bytes written to brokers.");
        BytesReceived = _meter.CreateCounter<long>("messaging.kafka.bytes.received", unit: "By", description: "Bytes read from brokers.");
        Reconnects = _meter.CreateCounter<long>("messaging.kafka.reconnects", description: "Connection attempts after a failure or disconnect.");
    }

    public UpDownCounter<int> Connections { get; }

    public UpDownCounter<int> RequestsInFlight { get; }

    public Histogram<double> RequestDuration { get; }

    public Counter<long> BytesSent { get; }

    public Counter<long> BytesReceived { get; }

    public Counter<long> Reconnects { get; }

    public static KeyValuePair<string, object?> ApiTag(ApiKey apiKey) =>
        new(KafkaTelemetry.ApiTag, (uint)(short)apiKey < (uint)ApiNames.Length ? ApiNames[(short)apiKey] : "Unknown");

    private static string[] BuildApiNames()
    {
        var names = new string[100];
        for (var i = 0; i < names.Length; i++)
        {
            names[i] = ((ApiKey)i).ToString();
        }

        return names;
    }
}
