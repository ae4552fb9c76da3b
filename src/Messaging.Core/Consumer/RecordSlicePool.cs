using Messaging.Buffers;

namespace Messaging.Pools;

/// <summary>The default <see cref="IRecordSlicePool"/>: power-of-two buckets of handle arrays with bounded retention.</summary>
public sealed class RecordSlicePool : IRecordSlicePool
{
    private readonly BucketedArrayPool<ConsumedRecord> _pool;

    /// <summary>Creates a pool with its own buckets.</summary>
    /// <param name="options">The knobs (lengths in records); null for the defaults.</param>
    public RecordSlicePool(BucketedPoolOptions? options = null)
    {
        _pool = new BucketedArrayPool<ConsumedRecord>("record-slices", options ?? ConsumerPoolOptions.DefaultRecordSlices());
    }

    /// <summary>The process-wide pool with the default settings, part of <see cref="ConsumerPools.Shared"/>.</summary>
    public static RecordSlicePool Shared { get; } = new();

    /// <summary>The pool's counters.</summary>
    public PoolStatistics Statistics => _pool.Statistics;

    /// <inheritdoc/>
    public ConsumedRecord[] Rent(int minimumLength) => _pool.Rent(minimumLength);

    /// <inheritdoc/>
    public void Return(ConsumedRecord[] array) => _pool.Return(array);
}
