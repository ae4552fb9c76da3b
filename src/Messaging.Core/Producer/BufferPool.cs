using System.Numerics;

namespace Messaging.Producer;

/// <summary>
/// <c>buffer.memory</c>: the batch buffers of one producer, bounded. Every buffer a batch holds is counted from the
/// moment it is rented until the batch completes and returns it; free buffers are cached per size class (powers of
/// two from <see cref="MinBufferSize"/> up to the batch size) and count against the bound too, so the memory the
/// pool holds never exceeds it.
/// </summary>
/// <remarks>
/// <para>Renting happens once per batch, not per record. <see cref="TryRent"/> never waits; <see cref="Rent"/> and
/// <see cref="RentAsync"/> wait up to <c>max.block.ms</c> in one FIFO queue — memory that frees goes to the oldest
/// waiter first, and while anyone waits <see cref="TryRent"/> fails so newcomers cannot starve them.</para>
/// <para>Buffers are plain arrays allocated by the pool (never <c>ArrayPool.Shared</c>, whose retained arrays would
/// escape the bound). A buffer larger than the largest size class (a record bigger than <c>batch.size</c>) is
/// allocated to size and dropped on return.</para>
/// </remarks>
internal sealed class BufferPool
{
    public const int MinBufferSize = 4096;

    private readonly object _lock = new();
    private readonly long _limit;
    private readonly int _maxClassSize;
    private readonly Stack<byte[]>[] _free;
    private readonly LinkedList<Waiter> _waiters = new();
    [ThreadStatic]
    private static Waiter? _threadWaiter;

    private long _inUse;
    private long _cached;
    private int _waiterCount;
    private bool _closed;

    public BufferPool(long limit, int batchSize)
    {
        _limit = limit;
        _maxClassSize = (int)Math.Min(BitOperations.RoundUpToPowerOf2((uint)Math.Max(batchSize, MinBufferSize)), 1 << 30);
        var classes = BitOperations.Log2((uint)_maxClassSize) - BitOperations.Log2(MinBufferSize) + 1;
        _free = new Stack<byte[]>[classes];
        for (var i = 0; i < classes; i++)
        {
            _free[i] = new Stack<byte[]>();
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

    /// <summary>A buffer of at least <paramref name="size"/> bytes, or null at once if the bound does not allow it now (or others are waiting).</summary>
    public byte[]? TryRent(int size)
    {
        var actual = SizeFor(size);
        lock (_lock)
        {
            return _waiters.Count > 0 ? null : TakeLocked(actual);
        }
    }

    /// <summary>Waits (blocking the thread) up to <paramref name="maxBlock"/> for a buffer; null if none came in time.</summary>
    /// <exception cref="ObjectDisposedException">The pool was closed while waiting.</exception>
    public byte[]? Rent(int size, TimeSpan maxBlock)
    {
        var waiter = Enqueue(size, async: false, out var immediate);
        if (immediate is not null || waiter is null)
        {
            return immediate;
        }

        waiter.Event!.Wait(maxBlock);
        return Finish(waiter);
    }

    /// <summary>Waits asynchronously up to <paramref name="maxBlock"/> for a buffer; null if none came in time.</summary>
    public async ValueTask<byte[]?> RentAsync(int size, TimeSpan maxBlock, CancellationToken cancellationToken)
    {
        var waiter = Enqueue(size, async: true, out var immediate);
        if (immediate is not null || waiter is null)
        {
            return immediate;
        }

        try
        {
            await waiter.Completion!.Task.WaitAsync(maxBlock, cancellationToken).ConfigureAwait(false);
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
        lock (_lock)
        {
            _inUse -= buffer.Length;
            var index = ClassIndex(buffer.Length);
            if (index >= 0)
            {
                _free[index].Push(buffer);
                _cached += buffer.Length;
            }

            while (_waiters.First is { } node)
            {
                var next = TakeLocked(node.Value.Size);
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

    private Waiter? Enqueue(int size, bool async, out byte[]? immediate)
    {
        var actual = SizeFor(size);
        lock (_lock)
        {
            if (actual > _limit || _closed)
            {
                immediate = null;
                return null;
            }

            immediate = _waiters.Count > 0 ? null : TakeLocked(actual);
            if (immediate is not null)
            {
                return null;
            }

            // A thread blocks on one wait at a time: its waiter (event and list node) is reused, so blocking allocates nothing.
            var waiter = async ? new Waiter(async: true) : (_threadWaiter ??= new Waiter(async: false));
            waiter.Prepare(actual);
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

    private byte[]? TakeLocked(int actual)
    {
        var index = ClassIndex(actual);
        if (index >= 0 && _free[index].TryPop(out var cached))
        {
            _cached -= cached.Length;
            _inUse += cached.Length;
            return cached;
        }

        // Make room by dropping cached buffers of other sizes, largest classes first.
        for (var i = _free.Length - 1; i >= 0 && _inUse + _cached + actual > _limit && _cached > 0; i--)
        {
            while (_free[i].TryPop(out var dropped))
            {
                _cached -= dropped.Length;
                if (_inUse + _cached + actual <= _limit)
                {
                    break;
                }
            }
        }

        if (_inUse + _cached + actual > _limit)
        {
            return null;
        }

        _inUse += actual;
        return GC.AllocateUninitializedArray<byte>(actual);
    }

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

        public int Size { get; private set; }

        public ManualResetEventSlim? Event { get; }

        public TaskCompletionSource? Completion { get; }

        public LinkedListNode<Waiter> Node { get; }

        public byte[]? Buffer { get; set; }

        public void Prepare(int size)
        {
            Size = size;
            Buffer = null;
            Event?.Reset();
        }
    }
}
