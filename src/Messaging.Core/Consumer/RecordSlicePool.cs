using Messaging.Buffers;

namespace Messaging.Pools;

/// <summary>The default <see cref="IRecordSlicePool"/>: power-of-two buckets of handle arrays with bounded retention.</summary>
public sealed class RecordSlicePool : IRecordSlicePool
{
    private readonly BucketedArrayPool<ConsumedRecord> _pool;

    /// <summary>Creates a pool with its own buckets.</summary>
    /// <param name="options">The knobs (lengths in records); null for the defaults.</param>
    public RecordSlicePool(BufferPoolOptions? options = null)
    {
        _pool = new BucketedArrayPool<ConsumedRecord>("record-slices", options ?? ConsumerPoolOptions.DefaultRecordSlices());
    }

    /// <summary>The process-wide pool consumers with default knobs share.</summary>
    public static RecordSlicePool Shared { get; } = new();

    /// <summary>The pool's counters.</summary>
    public PoolStatistics Statistics => _pool.Statistics;

    /// <inheritdoc/>
    public ConsumedRecord[] Rent(int minimumLength) => _pool.Rent(minimumLength);

    /// <inheritdoc/>
    public void Return(ConsumedRecord[] array) => _pool.Return(array);
}
