using System.Numerics;
using Messaging.Buffers;
using Messaging.Pools;
using Messaging.Threading;

namespace Messaging.Producer;

/// <summary>
/// <c>buffer.memory</c>: the batch buffers of one producer, bounded. Every buffer a batch holds is counted from the
/// moment it is rented until the batch completes and returns it; free buffers are cached per size class (powers of
/// two from <see cref="MinBufferSize"/> up to the batch size) and count against the bound too, so the memory the
/// pool holds never exceeds it.
/// </summary>
/// <remarks>
/// <para>Renting happens once per batch, not per record. <see cref="TryRent(int, int)"/> never waits; <see cref="Rent"/> and
/// <see cref="RentAsync"/> wait up to <c>max.block.ms</c> in one FIFO queue — memory that frees goes to the oldest
/// waiter first, and while anyone waits <see cref="TryRent(int, int)"/> fails so newcomers cannot starve them.</para>
/// <para>Buffers are plain arrays allocated by the pool (never <c>ArrayPool.Shared</c>, whose retained arrays would
/// escape the bound). A buffer larger than the largest size class (a record bigger than <c>batch.size</c>) is
/// allocated to size and dropped on return.</para>
/// <para>A request names the size it needs (<c>minimum</c>: a batch's first record) and the size it would like
/// (<c>preferred</c>: what the partition's last batch grew to). The pool allocates only while it is under its bound
/// and never drops a cached buffer that could serve the request; at the bound it hands out a cached buffer of another
/// size instead (a smaller one means the batch seals sooner). So, records larger than every cached buffer aside,
/// the pool allocates at most <c>buffer.memory</c> in its whole life, then runs on reuse alone: a producer that runs
/// at the bound produces no garbage.</para>
/// </remarks>
internal sealed class BufferPool : IPoolStatisticsSource
{
    /// <summary>The <c>pool</c> tag of this pool's metrics on the <c>Messaging.Kafka.Pools</c> meter.</summary>
    public const string MetricsName = "producer-batches";

    public const int MinBufferSize = 4096;

    private readonly Clock _clock;
    private readonly object _lock = new();
    private readonly long _limit;
    private readonly int _maxClassSize;
    private readonly Stack<byte[]>[] _free;
    private readonly LinkedList<Waiter> _waiters = new();
    [ThreadStatic]
    private static Waiter? _threadWaiter;

    private readonly PoolMetrics _metrics = PoolMetrics.Shared;
    private long _inUse;
    private long _cached;
    private int _cachedCount;
    private long _rents;
    private long _returns;
    private long _misses;
    private long _drops;
    private long _allocatedBytes;
    private int _waiterCount;
    private bool _closed;

    /// <param name="limit">The most memory it hands out at once (<c>buffer.memory</c>).</param>
    /// <param name="batchSize">The largest buffer it caches (<c>batch.size</c>, rounded up to a power of two).</param>
    /// <param name="clock">The clock waits for memory count on (default: the system clock).</param>
    public BufferPool(long limit, int batchSize, Clock? clock = null)
    {
        _clock = clock ?? Clock.System;
        _limit = limit;
        _maxClassSize = (int)Math.Min(BitOperations.RoundUpToPowerOf2((uint)Math.Max(batchSize, MinBufferSize)), 1 << 30);
        var classes = BitOperations.Log2((uint)_maxClassSize) - BitOperations.Log2(MinBufferSize) + 1;
        _free = new Stack<byte[]>[classes];
        for (var i = 0; i < classes; i++)
        {
            _free[i] = new Stack<byte[]>();
        }

        _metrics.Register(this);
    }

    /// <inheritdoc/>
    public KeyValuePair<string, object?> MetricsTag { get; } = new("pool", MetricsName);

    /// <summary>Rents (one per batch, or per growth of a batch), returns, misses (rents served by allocating), drops, and the free buffers cached.</summary>
    public PoolStatistics Statistics
    {
        get
        {
            lock (_lock)
            {
                return new PoolStatistics(_rents, _returns, _misses, _drops, _cachedCount, _cached);
            }
        }
    }

    /// <summary>Bytes this pool has allocated since it was created: it fills up to <see cref="Limit"/> and, once full, allocates only to trade small free buffers for a larger one.</summary>
    public long AllocatedBytes
    {
        get
        {
            lock (_lock)
            {
                return _allocatedBytes;
            }
        }
    }

    /// <summary>The bound (<c>buffer.memory</c>).</summary>
    public long Limit => _limit;

    /// <summary>Bytes held by batches right now.</summary>
    public long InUse
    {
        get
        {
            lock (_lock)
            {
                return _inUse;
            }
        }
    }

    /// <summary>Bytes held by batches plus free buffers kept for reuse: never more than <see cref="Limit"/>.</summary>
    public long Held
    {
        get
        {
            lock (_lock)
            {
                return _inUse + _cached;
            }
        }
    }

    /// <summary>True while some producer call waits for memory: the senders then send every batch they can, to free it sooner.</summary>
    public bool HasWaiters => Volatile.Read(ref _waiterCount) > 0;

    /// <summary>The size a request for <paramref name="size"/> bytes is served with (its size class, or itself when larger than every class).</summary>
    public int SizeFor(int size) => size <= MinBufferSize ? MinBufferSize : size > _maxClassSize ? size : (int)BitOperations.RoundUpToPowerOf2((uint)size);

    /// <summary>
    /// A larger buffer for a batch that grows: at least <paramref name="size"/> bytes, or null at once if the pool
    /// has none cached and no room (or others are waiting). Never drops cached buffers: a batch that cannot grow
    /// is simply sent as it is.
    /// </summary>
    public byte[]? TryRent(int size)
    {
        var actual = SizeFor(size);
        lock (_lock)
        {
            return _waiters.Count > 0 ? null : TakeLocked(actual, actual, mayDrop: false);
        }
    }

    /// <summary>
    /// A buffer of at least <paramref name="minimum"/> bytes, <paramref name="preferred"/> if the pool can give that
    /// without allocating past its bound; null at once if it cannot give even the minimum now (or others are waiting).
    /// </summary>
    public byte[]? TryRent(int minimum, int preferred)
    {
        var min = SizeFor(minimum);
        var pref = PreferredFor(min, preferred);
        lock (_lock)
        {
            return _waiters.Count > 0 ? null : TakeLocked(min, pref, mayDrop: true);
        }
    }

    /// <summary>
    /// Waits (blocking the thread) up to <paramref name="maxBlock"/> for a buffer for a batch of <paramref name="partition"/>;
    /// null if none came in time, or at once when the partition is removed meanwhile (<see cref="EndWaits"/>).
    /// </summary>
    /// <exception cref="ObjectDisposedException">The pool was closed while waiting.</exception>
    public byte[]? Rent(int minimum, int preferred, TimeSpan maxBlock, PartitionState? partition = null)
    {
        var waiter = Enqueue(minimum, preferred, async: false, partition, out var immediate);
        if (immediate is not null || waiter is null)
        {
            return immediate;
        }

        _clock.Wait(waiter.Event!, maxBlock);
        return Finish(waiter);
    }

    /// <summary>
    /// Waits asynchronously up to <paramref name="maxBlock"/> for a buffer for a batch of <paramref name="partition"/>;
    /// null if none came in time, or at once when the partition is removed meanwhile (<see cref="EndWaits"/>).
    /// </summary>
    public async ValueTask<byte[]?> RentAsync(int minimum, int preferred, TimeSpan maxBlock, PartitionState? partition, CancellationToken cancellationToken)
    {
        var waiter = Enqueue(minimum, preferred, async: true, partition, out var immediate);
        if (immediate is not null || waiter is null)
        {
            return immediate;
        }

        try
        {
            await waiter.Completion!.Task.WaitAsync(Clock.TimerDelay(maxBlock), _clock.Provider, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Finish decides under the lock whether the buffer came after all.
        }
        catch (OperationCanceledException)
        {
            var granted = Finish(waiter);
            if (granted is not null)
            {
                Return(granted);
            }

            throw;
        }

        return Finish(waiter);
    }

    /// <summary>Gives a buffer back: cached for reuse (or dropped), then handed to waiters that now fit, oldest first.</summary>
    public void Return(byte[] buffer)
    {
        _metrics.Returns.Add(1, MetricsTag);
        lock (_lock)
        {
            _inUse -= buffer.Length;
            _returns++;
            var index = ClassIndex(buffer.Length);
            if (index >= 0)
            {
                _free[index].Push(buffer);
                _cached += buffer.Length;
                _cachedCount++;
            }
            else
            {
                _drops++;
                _metrics.Drops.Add(1, MetricsTag);
            }

            while (_waiters.First is { } node)
            {
                var next = TakeLocked(node.Value.Minimum, node.Value.Preferred, mayDrop: true);
                if (next is null)
                {
                    break;
                }

                _waiters.RemoveFirst();
                Interlocked.Decrement(ref _waiterCount);
                node.Value.Buffer = next;

                // Signalled under the lock, so no late signal can reach a waiter object after it was reused.
                node.Value.Event?.Set();
                node.Value.Completion?.TrySetResult();
            }
        }
    }

    /// <summary>Ends every wait without a buffer, and makes later waits return null at once (the producer is closing).</summary>
    public void Close()
    {
        lock (_lock)
        {
            _closed = true;
            while (_waiters.First is { } node)
            {
                _waiters.RemoveFirst();
                node.Value.Event?.Set();
                node.Value.Completion?.TrySetResult();
            }

            Interlocked.Exchange(ref _waiterCount, 0);
        }
    }

    /// <summary>
    /// Ends without a buffer the waits for batches of <paramref name="removed"/>, a partition its topic no longer has
    /// (marked <see cref="PartitionState.Removed"/> before): their records fail at once instead of waiting for memory.
    /// A wait that starts later for it returns at once.
    /// </summary>
    public void EndWaits(PartitionState removed)
    {
        lock (_lock)
        {
            var node = _waiters.First;
            while (node is not null)
            {
                var next = node.Next;
                if (ReferenceEquals(node.Value.Partition, removed))
                {
                    _waiters.Remove(node);
                    Interlocked.Decrement(ref _waiterCount);
                    node.Value.Event?.Set();
                    node.Value.Completion?.TrySetResult();
                }

                node = next;
            }
        }
    }

    private Waiter? Enqueue(int minimum, int preferred, bool async, PartitionState? partition, out byte[]? immediate)
    {
        var min = SizeFor(minimum);
        var pref = PreferredFor(min, preferred);
        lock (_lock)
        {
            // Removed is set before EndWaits takes this lock: a wait that starts after that sees it here.
            if (min > _limit || _closed || partition is { Removed: true })
            {
                immediate = null;
                return null;
            }

            immediate = _waiters.Count > 0 ? null : TakeLocked(min, pref, mayDrop: true);
            if (immediate is not null)
            {
                return null;
            }

            // A thread blocks on one wait at a time: its waiter (event and list node) is reused, so blocking allocates nothing.
            var waiter = async ? new Waiter(async: true) : (_threadWaiter ??= new Waiter(async: false));
            waiter.Prepare(min, pref, partition);
            _waiters.AddLast(waiter.Node);
            Interlocked.Increment(ref _waiterCount);
            return waiter;
        }
    }

    /// <summary>Ends a wait: the buffer if one was granted, else leaves the queue and returns null.</summary>
    private byte[]? Finish(Waiter waiter)
    {
        lock (_lock)
        {
            waiter.Partition = null; // a blocking thread's waiter is kept for its next wait: it must not keep the partition alive
            if (waiter.Buffer is not null)
            {
                return waiter.Buffer;
            }

            if (waiter.Node.List is not null)
            {
                _waiters.Remove(waiter.Node);
                Interlocked.Decrement(ref _waiterCount);
            }

            return null;
        }
    }

    /// <summary>A buffer of between <paramref name="min"/> and (preferably) <paramref name="pref"/> bytes or more (both size classes), or null.</summary>
    /// <remarks>
    /// The order matters for a producer that runs at the bound (it produces faster than the brokers take): a cached
    /// buffer of the preferred size; else a new one while the bound allows; else any cached buffer that serves the
    /// minimum (larger ones first: already counted under the bound, they cost nothing); else, only when every cached
    /// buffer is too small for the minimum, those are dropped to make room. Dropping a buffer that could have served
    /// and then allocating again would turn the cache into steady garbage exactly when the producer is busiest.
    /// Without <paramref name="mayDrop"/> (a batch growing) nothing is dropped at all.
    /// </remarks>
    private byte[]? TakeLocked(int min, int pref, bool mayDrop)
    {
        var prefIndex = ClassIndex(pref);
        if (prefIndex >= 0 && _free[prefIndex].TryPop(out var cached))
        {
            return UseCachedLocked(cached);
        }

        if (_inUse + _cached + pref <= _limit)
        {
            return AllocateLocked(pref);
        }

        // Cached buffers that serve the minimum: larger than preferred (ascending), then down to the minimum.
        var minIndex = ClassIndex(min);
        for (var i = prefIndex < 0 ? _free.Length : prefIndex + 1; i < _free.Length; i++)
        {
            if (_free[i].TryPop(out cached))
            {
                return UseCachedLocked(cached);
            }
        }

        for (var i = (prefIndex < 0 ? _free.Length : prefIndex) - 1; minIndex >= 0 && i >= minIndex; i--)
        {
            if (_free[i].TryPop(out cached))
            {
                return UseCachedLocked(cached);
            }
        }

        if (_inUse + _cached + min <= _limit)
        {
            return AllocateLocked(min);
        }

        // Only buffers too small for the minimum are cached now. Drop them (largest first: fewest drops) only if
        // that makes room: otherwise a record larger than every cached buffer would wait for memory that is free.
        if (!mayDrop || _inUse + min > _limit)
        {
            return null;
        }

        for (var i = (minIndex < 0 ? _free.Length : minIndex) - 1; i >= 0 && _inUse + _cached + min > _limit; i--)
        {
            while (_inUse + _cached + min > _limit && _free[i].TryPop(out var dropped))
            {
                _cached -= dropped.Length;
                _cachedCount--;
                _drops++;
                _metrics.Drops.Add(1, MetricsTag);
            }
        }

        return AllocateLocked(min);
    }

    private byte[] UseCachedLocked(byte[] cached)
    {
        _cached -= cached.Length;
        _cachedCount--;
        _inUse += cached.Length;
        _rents++;
        _metrics.Rents.Add(1, MetricsTag);
        return cached;
    }

    private byte[] AllocateLocked(int actual)
    {
        _inUse += actual;
        _rents++;
        _misses++;
        _allocatedBytes += actual;
        _metrics.Rents.Add(1, MetricsTag);
        _metrics.Misses.Add(1, MetricsTag);
        _metrics.AllocatedBytes.Add(actual, MetricsTag);
        return GC.AllocateUninitializedArray<byte>(actual);
    }

    /// <summary>The preferred size class: never below the minimum, never beyond the largest class (a preference does not justify an unpooled buffer).</summary>
    private int PreferredFor(int min, int preferred) => Math.Max(min, Math.Min(SizeFor(preferred), _maxClassSize));

    private int ClassIndex(int length) =>
        length < MinBufferSize || length > _maxClassSize || !BitOperations.IsPow2(length)
            ? -1
            : BitOperations.Log2((uint)length) - BitOperations.Log2(MinBufferSize);

    private sealed class Waiter
    {
        public Waiter(bool async)
        {
            Node = new LinkedListNode<Waiter>(this);
            if (async)
            {
                Completion = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            else
            {
                Event = new ManualResetEventSlim(false);
            }
        }

        public int Minimum { get; private set; }

        public int Preferred { get; private set; }

        public ManualResetEventSlim? Event { get; }

        public TaskCompletionSource? Completion { get; }

        public LinkedListNode<Waiter> Node { get; }

        public byte[]? Buffer { get; set; }

        /// <summary>The partition whose batch the buffer is for, if the caller named it.</summary>
        public PartitionState? Partition { get; set; }

        public void Prepare(int minimum, int preferred, PartitionState? partition)
        {
            Minimum = minimum;
            Preferred = preferred;
            Partition = partition;
            Buffer = null;
            Event?.Reset();
        }
    }
}
