namespace Messaging.Rpc;

/// <summary>
/// The client's bounds on calls waiting for replies: how many, and how many request payload bytes. While nobody
/// waits, reserving and releasing are lock-free; a call that finds the budget spent queues and is granted room in
/// arrival order as releases free it, or gives up at its deadline.
/// </summary>
/// <remarks>
/// <para>Counts never go over the limits, not even for a moment: a reservation checks each limit before it commits
/// (compare-and-swap), so a failed attempt cannot make another caller's attempt fail. The one transient is a call
/// slot taken and given back when the bytes then did not fit; that give-back is a release like any other.</para>
/// <para>Waiting is first come, first served: a new caller queues behind existing waiters instead of taking room they
/// wait for, and a release grants the head of the queue while it fits (so a large request is not starved by smaller
/// ones passing it; its deadline bounds how long it holds the others up). The race between a waiter queueing and a
/// release: the waiter counts itself in <see cref="_waiters"/> and tries again under the lock before it queues; a
/// release frees its room first and reads <see cref="_waiters"/> after (both through full fences), then grants under
/// the same lock — so either the waiter's try sees the room, or the release sees the waiter and grants it.</para>
/// <para>Closing (the client's disposal) fails every waiter and every later wait with
/// <see cref="ObjectDisposedException"/>; releases keep working, so calls that complete afterwards still give back
/// their share.</para>
/// </remarks>
internal sealed class CallBudget
{
    private readonly int _maxCalls;
    private readonly long _maxBytes;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly LinkedList<Waiter> _queue = new(); // under _lock
    private int _calls;
    private long _bytes;
    private int _waiters;
    private bool _closed; // under _lock

    public CallBudget(int maxCalls, long maxBytes, TimeProvider time)
    {
        _time = time;
        _maxCalls = maxCalls;
        _maxBytes = maxBytes;
    }

    public int Calls => Volatile.Read(ref _calls);

    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Calls queued for room (for tests and diagnostics).</summary>
    public int Waiting => Volatile.Read(ref _waiters);

    /// <summary>Reserves a call of <paramref name="bytes"/>, waiting up to <paramref name="wait"/>; false when the wait ran out.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired (nothing stays reserved).</exception>
    /// <exception cref="ObjectDisposedException">The budget was closed (nothing stays reserved).</exception>
    public ValueTask<bool> ReserveAsync(int bytes, TimeSpan wait, CancellationToken cancellationToken) =>
        TryReserveNow(bytes) ? new ValueTask<bool>(true) : WaitAsync(bytes, wait, cancellationToken);

    /// <summary>Reserves a call of <paramref name="bytes"/> only if it fits at once and nobody waits for room (who would come first); never waits.</summary>
    public bool TryReserveNow(int bytes) => Volatile.Read(ref _waiters) == 0 && TryReserve(bytes, wakeOnGiveBack: true);

    public void Release(int bytes)
    {
        Interlocked.Add(ref _bytes, -bytes);
        Interlocked.Decrement(ref _calls);
        GrantIfWaiting();
    }

    /// <summary>Fails every waiter and every later wait with <see cref="ObjectDisposedException"/>.</summary>
    public void Close()
    {
        lock (_lock)
        {
            _closed = true;
            foreach (var waiter in _queue)
            {
                waiter.Completion.TrySetException(new ObjectDisposedException(nameof(RpcClient)));
            }

            _queue.Clear();
        }
    }

    /// <summary>
    /// Takes a call slot and <paramref name="bytes"/> if both fit, never counting past a limit. A slot taken and given
    /// back because the bytes did not fit is released as any release is (<paramref name="wakeOnGiveBack"/>), unless the
    /// caller is the granting loop itself, which holds the lock and stops at the first waiter that does not fit.
    /// </summary>
    private bool TryReserve(int bytes, bool wakeOnGiveBack)
    {
        int calls;
        do
        {
            calls = Volatile.Read(ref _calls);
            if (calls >= _maxCalls)
            {
                return false;
            }
        }
        while (Interlocked.CompareExchange(ref _calls, calls + 1, calls) != calls);

        long reserved;
        do
        {
            reserved = Interlocked.Read(ref _bytes);
            if (reserved + bytes > _maxBytes)
            {
                Interlocked.Decrement(ref _calls);
                if (wakeOnGiveBack)
                {
                    GrantIfWaiting();
                }

                return false;
            }
        }
        while (Interlocked.CompareExchange(ref _bytes, reserved + bytes, reserved) != reserved);

        return true;
    }

    private void GrantIfWaiting()
    {
        if (Volatile.Read(ref _waiters) == 0)
        {
            return;
        }

        lock (_lock)
        {
            GrantLocked();
        }
    }

    /// <summary>Grants room to waiters from the head of the queue while the head fits.</summary>
    private void GrantLocked()
    {
        while (_queue.First is { } head)
        {
            var waiter = head.Value;
            if (waiter.Completion.Task.IsCompleted)
            {
                _queue.RemoveFirst(); // gave up (deadline or cancellation) and not yet unlinked itself
                continue;
            }

            if (!TryReserve(waiter.Bytes, wakeOnGiveBack: false))
            {
                return;
            }

            _queue.RemoveFirst();
            if (!waiter.Completion.TrySetResult(true))
            {
                // It gave up between the check and now: the room goes back, and on to the next waiter.
                Interlocked.Add(ref _bytes, -waiter.Bytes);
                Interlocked.Decrement(ref _calls);
            }
        }
    }

    private async ValueTask<bool> WaitAsync(int bytes, TimeSpan wait, CancellationToken cancellationToken)
    {
        var start = _time.GetTimestamp();
        Interlocked.Increment(ref _waiters);
        try
        {
            Waiter waiter;
            LinkedListNode<Waiter> node;
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_closed, typeof(RpcClient));
                if (_queue.Count == 0 && TryReserve(bytes, wakeOnGiveBack: false))
                {
                    return true;
                }

                waiter = new Waiter(bytes);
                node = _queue.AddLast(waiter);
                GrantLocked(); // the waiters ahead may all have given up already
            }

            try
            {
                try
                {
                    await FarDeadline.WaitAsync(waiter.Completion.Task, wait - _time.GetElapsedTime(start), _time, cancellationToken).ConfigureAwait(false);
                }
                catch (TimeoutException)
                {
                    return GiveUp(waiter, node);
                }

                return await waiter.Completion.Task.ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                if (GiveUp(waiter, node))
                {
                    Release(bytes); // granted just before the cancellation won: the caller will not use it
                }

                throw;
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waiters);
        }
    }

    /// <summary>
    /// Leaves the queue. True if room was granted in the meantime: a waiter whose time ran out keeps it, a cancelled
    /// one gives it back. Throws <see cref="ObjectDisposedException"/> if the budget closed first.
    /// </summary>
    private bool GiveUp(Waiter waiter, LinkedListNode<Waiter> node)
    {
        lock (_lock)
        {
            if (waiter.Completion.TrySetResult(false))
            {
                if (node.List is not null)
                {
                    _queue.Remove(node);
                }

                GrantLocked(); // it may have held up smaller waiters behind it
                return false;
            }
        }

        // Completed before we could withdraw: granted (true) or closed (throws).
        return waiter.Completion.Task.GetAwaiter().GetResult();
    }

    private sealed class Waiter(int bytes)
    {
        public int Bytes { get; } = bytes;

        public TaskCompletionSource<bool> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
