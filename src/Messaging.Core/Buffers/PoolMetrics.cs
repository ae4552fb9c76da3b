using System.Diagnostics.Metrics;
using Messaging.Pools;

namespace Messaging.Buffers;

/// <summary>
/// The pools' instruments, on the <c>Messaging.Kafka.Pools</c> meter: rents, returns, misses (rents that had to
/// allocate), the bytes those misses allocated, and drops (returns not kept), each tagged with the pool's name, and the bytes each pool retains. They cost
/// one enabled-check per pool operation until a listener subscribes.
/// </summary>
#pragma warning disable CA1001 // One process-wide meter, alive as long as the process: nothing to dispose it for.
internal sealed class PoolMetrics
#pragma warning restore CA1001
{
    /// <summary>The meter's name, for <c>MeterListener</c>s and OpenTelemetry's <c>AddMeter</c>.</summary>
    public const string MeterName = "Messaging.Kafka.Pools"; // KafkaTelemetry.PoolsMeterName (a layer up) repeats it publicly

    public static readonly PoolMetrics Shared = new();

    private readonly Meter _meter = new(MeterName, "1.0");
    private readonly Lock _sourcesLock = new();
    private readonly List<WeakReference<IPoolStatisticsSource>> _sources = [];

    private PoolMetrics()
    {
        Rents = _meter.CreateCounter<long>("messaging.kafka.pool.rents", description: "Items (buffers, arrays, records) handed out by a pool.");
        Returns = _meter.CreateCounter<long>("messaging.kafka.pool.returns", description: "Items given back to a pool.");
        Misses = _meter.CreateCounter<long>("messaging.kafka.pool.misses", description: "Rents a pool served by allocating.");
        Drops = _meter.CreateCounter<long>("messaging.kafka.pool.drops", description: "Returns a pool did not keep (over its bounds).");
        AllocatedBytes = _meter.CreateCounter<long>("messaging.kafka.pool.allocated", unit: "By", description: "Bytes of arrays a pool allocated because it had none to reuse (its misses, in bytes).");
        _meter.CreateObservableGauge("messaging.kafka.pool.retained_bytes", ObserveRetainedBytes, unit: "By", description: "Bytes a pool holds for reuse.");
    }

    public Counter<long> Rents { get; }

    public Counter<long> Returns { get; }

    public Counter<long> Misses { get; }

    public Counter<long> Drops { get; }

    public Counter<long> AllocatedBytes { get; }

    /// <summary>Adds a pool to the retained-bytes gauge (held weakly: a collected pool drops out).</summary>
    public void Register(IPoolStatisticsSource source)
    {
        lock (_sourcesLock)
        {
            _sources.RemoveAll(static w => !w.TryGetTarget(out _));
            _sources.Add(new WeakReference<IPoolStatisticsSource>(source));
        }
    }

    private List<Measurement<long>> ObserveRetainedBytes()
    {
        var measurements = new List<Measurement<long>>();
        lock (_sourcesLock)
        {
            foreach (var weak in _sources)
            {
                if (weak.TryGetTarget(out var source))
                {
                    measurements.Add(new Measurement<long>(source.Statistics.RetainedBytes, source.MetricsTag));
                }
            }
        }

        return measurements;
    }
}

/// <summary>A pool that reports its counters.</summary>
internal interface IPoolStatisticsSource
{
    /// <summary>The pool's <c>pool</c> tag.</summary>
    KeyValuePair<string, object?> MetricsTag { get; }

    /// <summary>The pool's counters now.</summary>
    PoolStatistics Statistics { get; }
}
