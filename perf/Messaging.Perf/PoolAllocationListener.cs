using System.Diagnostics.Metrics;

namespace Messaging.Perf;

/// <summary>
/// Sums the bytes one of the library's pools allocated (<c>messaging.kafka.pool.allocated</c> on the
/// <c>Messaging.Kafka.Pools</c> meter), so a run can tell a pool filling up to its bound (once per process) from
/// allocation that recurs per message.
/// </summary>
internal sealed class PoolAllocationListener : IDisposable
{
    private const string MeterName = "Messaging.Kafka.Pools";
    private const string InstrumentName = "messaging.kafka.pool.allocated";

    private readonly MeterListener _listener = new();
    private readonly string _pool;
    private long _bytes;

    public PoolAllocationListener(string pool)
    {
        _pool = pool;
        _listener.InstrumentPublished = static (instrument, listener) =>
        {
            if (instrument.Meter.Name == MeterName && instrument.Name == InstrumentName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>(OnMeasurement);
        _listener.Start();
    }

    /// <summary>Bytes allocated since the listener started.</summary>
    public long Bytes => Volatile.Read(ref _bytes);

    public void Dispose() => _listener.Dispose();

    private void OnMeasurement(Instrument instrument, long measurement, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == "pool" && tag.Value is string name && name == _pool)
            {
                Interlocked.Add(ref _bytes, measurement);
                return;
            }
        }
    }
}
