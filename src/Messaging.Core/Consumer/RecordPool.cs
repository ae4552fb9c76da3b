using Messaging.Buffers;

namespace Messaging.Pools;

/// <summary>
/// The default <see cref="IRecordPool"/>: one stack of record objects behind one lock, taken once per group of records,
/// keeping at most <see cref="RecordPoolOptions.MaxRetained"/>.
/// </summary>
public sealed class RecordPool : IRecordPool, IPoolStatisticsSource
{
    private readonly Lock _lock = new();
    private readonly int _maxRetained;
    private readonly bool _enabled;
    private readonly PoolMetrics _metrics = PoolMetrics.Shared;
    private PooledRecord?[] _items = []; // grows as records are kept, up to _maxRetained
    private int _count;
    private long _rents;
    private long _returns;
    private long _misses;
    private long _drops;

    /// <summary>Creates a pool.</summary>
    /// <param name="options">The knobs; null for the defaults.</param>
    public RecordPool(RecordPoolOptions? options = null)
    {
        options ??= new RecordPoolOptions();
        options.Validate("Pools.Records");
        _enabled = options.Enabled && options.MaxRetained > 0;
        _maxRetained = _enabled ? options.MaxRetained : 0;
        MetricsTag = new KeyValuePair<string, object?>("pool", "records");
        _metrics.Register(this);
    }

    /// <summary>The process-wide pool with the default settings, part of <see cref="ConsumerPools.Shared"/>.</summary>
    public static RecordPool Shared { get; } = new();

    /// <summary>The pool's counters (each record object counts as one rent and one return).</summary>
    public PoolStatistics Statistics
    {
        get
        {
            long retained = Volatile.Read(ref _count);
            return new PoolStatistics(Volatile.Read(ref _rents), Volatile.Read(ref _returns), Volatile.Read(ref _misses), Volatile.Read(ref _drops),
                retained, retained * PooledRecord.ApproximateSize);
        }
    }

    KeyValuePair<string, object?> IPoolStatisticsSource.MetricsTag => MetricsTag;

    private KeyValuePair<string, object?> MetricsTag { get; }

    /// <inheritdoc/>
    public void Rent(Span<PooledRecord> destination)
    {
        int taken = 0;
        if (_enabled)
        {
            lock (_lock)
            {
                taken = Math.Min(_count, destination.Length);
                for (int i = 0; i < taken; i++)
                {
                    destination[i] = _items[--_count]!;
                    _items[_count] = null;
                }
            }
        }

        for (int i = taken; i < destination.Length; i++)
        {
            destination[i] = new PooledRecord();
        }

        Interlocked.Add(ref _rents, destination.Length);
        _metrics.Rents.Add(destination.Length, MetricsTag);
        int missed = destination.Length - taken;
        if (missed > 0)
        {
            Interlocked.Add(ref _misses, missed);
            _metrics.Misses.Add(missed, MetricsTag);
        }
    }

    /// <inheritdoc/>
    public void Return(ReadOnlySpan<PooledRecord> records)
    {
        int kept = 0;
        if (_enabled)
        {
            lock (_lock)
            {
                kept = Math.Min(_maxRetained - _count, records.Length);
                RetainedSlots.EnsureRoom(ref _items, _count + kept, _maxRetained);
                for (int i = 0; i < kept; i++)
                {
                    _items[_count++] = records[i];
                }
            }
        }

        Interlocked.Add(ref _returns, records.Length);
        _metrics.Returns.Add(records.Length, MetricsTag);
        int dropped = records.Length - kept;
        if (dropped > 0)
        {
            Interlocked.Add(ref _drops, dropped);
            _metrics.Drops.Add(dropped, MetricsTag);
        }
    }
}
