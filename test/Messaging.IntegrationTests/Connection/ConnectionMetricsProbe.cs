using System.Diagnostics.Metrics;
using Messaging.Diagnostics;

namespace Messaging.IntegrationTests.Connection;

/// <summary>
/// Counts what connections report on the <c>Messaging.Kafka</c> meter: requests entering and leaving the in-flight
/// FIFO, connections opening and closing. Process-wide, so only meaningful in a collection that runs alone.
/// </summary>
/// <remarks>A request that left the FIFO twice (failed twice, or answered and failed) shows as more departures than arrivals.</remarks>
internal sealed class ConnectionMetricsProbe : IDisposable
{
    private readonly MeterListener _listener = new();
    private int _requestsEntered;
    private int _requestsLeft;
    private int _connectionsOpened;
    private int _connectionsClosed;

    public ConnectionMetricsProbe()
    {
        _listener.InstrumentPublished = static (instrument, listener) =>
        {
            if (instrument.Meter.Name == KafkaMetrics.MeterName
                && instrument.Name is "messaging.kafka.requests.in_flight" or "messaging.kafka.connections")
            {
                listener.EnableMeasurementEvents(instrument, instrument.Name);
            }
        };
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, state) =>
        {
            if ((string?)state == "messaging.kafka.requests.in_flight")
            {
                Interlocked.Add(ref value > 0 ? ref _requestsEntered : ref _requestsLeft, Math.Abs(value));
            }
            else
            {
                Interlocked.Add(ref value > 0 ? ref _connectionsOpened : ref _connectionsClosed, Math.Abs(value));
            }
        });
        _listener.Start();
    }

    public int RequestsEntered => Volatile.Read(ref _requestsEntered);

    public int RequestsLeft => Volatile.Read(ref _requestsLeft);

    public int ConnectionsOpened => Volatile.Read(ref _connectionsOpened);

    public int ConnectionsClosed => Volatile.Read(ref _connectionsClosed);

    public void Dispose() => _listener.Dispose();
}
