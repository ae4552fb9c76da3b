using System.Numerics;
using System.Runtime.CompilerServices;
using Messaging.Pools;

namespace Messaging.Buffers;

/// <summary>
/// The engine of the default pools: arrays in size classes (four per doubling), each a small stack behind its own lock, with a
/// per-bucket count bound and a whole-pool byte bound. Rents that find nothing allocate (a miss); returns over a bound,
/// or of a length that is not a bucket size, are dropped. Thread-safe; one lock per operation, never per element.
/// </summary>
/// <typeparam name="T">The element type.</typeparam>
internal sealed class BucketedArrayPool<T> : IPoolStatisticsSource
{
    private readonly Bucket[] _buckets;
    private readonly int _minShift;
    private readonly int _maxBucketSize;
    private readonly long _maxRetainedBytes;
    private readonly int _elementSize;
    private readonly bool _enabled;
    private readonly PoolMetrics _metrics = PoolMetrics.Shared;
    private long _rents;
    private long _returns;
    private long _misses;
    private long _drops;
    private long _retainedBytes;
    private long _retainedCount;

    public BucketedArrayPool(string name, BucketedPoolOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(name);
        Name = name;
        MetricsTag = new KeyValuePair<string, object?>("pool", name);
        _enabled = options.Enabled && options.MaxRetainedPerBucket > 0 && options.MaxRetainedBytes > 0;
        _elementSize = typeof(T) == typeof(byte) ? 1 : Unsafe.SizeOf<T>();
        _minShift = Math.Max(2, BitOperations.Log2(BitOperations.RoundUpToPowerOf2((uint)options.MinBucketSize)));
        _maxBucketSize = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(options.MaxBucketSize, 1 << _minShift));
        int count = ClassIndex(_maxBucketSize) + 1;
        _buckets = new Bucket[count];
        for (int i = 0; i < count; i++)
        {
            _buckets[i] = new Bucket(ClassLength(i), options.MaxRetainedPerBucket);
        }

        _maxRetainedBytes = options.MaxRetainedBytes;
        _metrics.Register(this);
    }

    public string Name { get; }

    public KeyValuePair<string, object?> MetricsTag { get; }

    public PoolStatistics Statistics => new(
        Volatile.Read(ref _rents), Volatile.Read(ref _returns), Volatile.Read(ref _misses), Volatile.Read(ref _drops),
        Volatile.Read(ref _retainedCount), Volatile.Read(ref _retainedBytes));

    /// <summary>The bucket length a request of <paramref name="minimumLength"/> gets (the request itself above the largest bucket).</summary>
    public int BucketLength(int minimumLength) =>
        minimumLength > _maxBucketSize ? minimumLength : ClassLength(ClassIndex(minimumLength));

    public T[] Rent(int minimumLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minimumLength);
        Interlocked.Increment(ref _rents);
        _metrics.Rents.Add(1, MetricsTag);
        if (_enabled && minimumLength <= _maxBucketSize)
        {
            Bucket bucket = _buckets[ClassIndex(minimumLength)];
            T[]? array = bucket.TryPop();
            if (array is not null)
            {
                Interlocked.Add(ref _retainedBytes, -(long)array.Length * _elementSize);
                Interlocked.Decrement(ref _retainedCount);
                return array;
            }

            Miss(bucket.Length);
            return Allocate(bucket.Length);
        }

        var length = minimumLength <= _maxBucketSize ? BucketLength(minimumLength) : minimumLength;
        Miss(length);
        return Allocate(length);
    }

    public void Return(T[] array)
    {
        ArgumentNullException.ThrowIfNull(array);
        Interlocked.Increment(ref _returns);
        _metrics.Returns.Add(1, MetricsTag);
        int length = array.Length;
        int index = length < 1 << _minShift || length > _maxBucketSize ? -1 : ClassIndex(length);
        if (!_enabled || index < 0 || _buckets[index].Length != length)
        {
            Drop(); // not a size this pool hands out
            return;
        }

        long bytes = (long)length * _elementSize;
        if (Interlocked.Add(ref _retainedBytes, bytes) > _maxRetainedBytes)
        {
            Interlocked.Add(ref _retainedBytes, -bytes);
            Drop();
            return;
        }

        if (!_buckets[index].TryPush(array))
        {
            Interlocked.Add(ref _retainedBytes, -bytes);
            Drop();
            return;
        }

        Interlocked.Increment(ref _retainedCount);
    }

    private static T[] Allocate(int length) =>
        typeof(T) == typeof(byte) ? GC.AllocateUninitializedArray<T>(length) : new T[length];

    /// <summary>
    /// The size class of <paramref name="length"/>, rounding up: four classes per doubling (2^k times 1, 1.25, 1.5,
    /// 1.75), so an array is at most 25% larger than asked for.
    /// </summary>
    private int ClassIndex(int length)
    {
        if (length <= 1 << _minShift)
        {
            return 0;
        }

        int k = BitOperations.Log2((uint)length);
        int quarter = 1 << (k - 2);
        int step = (int)(((uint)length + (uint)quarter - 1) >> (k - 2)) - 4; // ceil(length / quarter) - 4: 0..4
        if (step == 4)
        {
            k++;
            step = 0;
        }

        return (k - _minShift) * 4 + step;
    }

    private int ClassLength(int index) => (4 + index % 4) << (_minShift + index / 4 - 2);

    private void Miss(int length)
    {
        Interlocked.Increment(ref _misses);
        _metrics.Misses.Add(1, MetricsTag);
        _metrics.AllocatedBytes.Add((long)length * _elementSize, MetricsTag);
    }

    private void Drop()
    {
        Interlocked.Increment(ref _drops);
        _metrics.Drops.Add(1, MetricsTag);
    }

    private sealed class Bucket(int length, int capacity)
    {
        private readonly Lock _lock = new();
        private T[]?[] _items = [];
        private int _count;

        public int Length { get; } = length;

        public T[]? TryPop()
        {
            lock (_lock)
            {
                if (_count == 0)
                {
                    return null;
                }

                T[]? item = _items[--_count];
                _items[_count] = null;
                return item;
            }
        }

        public bool TryPush(T[] array)
        {
            lock (_lock)
            {
                if (_count == capacity)
                {
                    return false;
                }

                RetainedSlots.EnsureRoom(ref _items, _count + 1, capacity);
                _items[_count++] = array;
                return true;
            }
        }
    }
}
