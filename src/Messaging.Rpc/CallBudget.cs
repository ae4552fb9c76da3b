namespace Messaging.Rpc;

/// <summary>
/// The client's bounds on calls waiting for replies: how many, and how many request payload bytes. Reserving is
/// lock-free; a call that finds the budget spent waits for a release, up to its deadline.
/// </summary>
/// <remarks>
/// Waiting: a waiter counts itself in <see cref="_waiters"/> before it tries again, and a release signals the
/// semaphore whenever anyone is counted, so a release between the waiter's failed try and its wait is not lost (the
/// semaphore keeps the count). Extra signals only cause a waiter to try again.
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable",
    Justification = "The semaphore never creates its wait handle (only WaitAsync is used), so it holds nothing to release; not disposing it lets a call that completes after the client's disposal still release its share.")]
internal sealed class CallBudget
{
    private readonly int _maxCalls;
    private readonly long _maxBytes;
    private readonly SemaphoreSlim _released = new(0);
    private int _calls;
    private long _bytes;
    private int _waiters;

    private readonly TimeProvider _time;

    public CallBudget(int maxCalls, long maxBytes, TimeProvider time)
    {
        _time = time;
        _maxCalls = maxCalls;
        _maxBytes = maxBytes;
    }

    public int Calls => Volatile.Read(ref _calls);

    public long Bytes => Interlocked.Read(ref _bytes);

    public bool TryReserve(int bytes)
    {
        if (Interlocked.Increment(ref _calls) > _maxCalls)
        {
            Interlocked.Decrement(ref _calls);
            return false;
        }

        if (Interlocked.Add(ref _bytes, bytes) > _maxBytes)
        {
            // Undone without signalling: nothing was freed, and a waiter signalling itself would spin.
            Interlocked.Add(ref _bytes, -bytes);
            Interlocked.Decrement(ref _calls);
            return false;
        }

        return true;
    }

    /// <summary>Reserves a call of <paramref name="bytes"/>, waiting up to <paramref name="wait"/>; false when the wait ran out.</summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> fired.</exception>
    public ValueTask<bool> ReserveAsync(int bytes, TimeSpan wait, CancellationToken cancellationToken) =>
        TryReserve(bytes) ? new ValueTask<bool>(true) : WaitAsync(bytes, wait, cancellationToken);

    public void Release(int bytes)
    {
        Interlocked.Add(ref _bytes, -bytes);
        Interlocked.Decrement(ref _calls);
        if (Volatile.Read(ref _waiters) > 0)
        {
            _released.Release();
        }
    }

    private async ValueTask<bool> WaitAsync(int bytes, TimeSpan wait, CancellationToken cancellationToken)
    {
        var start = _time.GetTimestamp();
        Interlocked.Increment(ref _waiters);
        try
        {
            while (true)
            {
                if (TryReserve(bytes))
                {
                    return true;
                }

                var remaining = wait - _time.GetElapsedTime(start);
                if (remaining <= TimeSpan.Zero)
                {
                    return false;
                }

                if (!await _released.WaitAsync(remaining, cancellationToken).ConfigureAwait(false))
                {
                    return TryReserve(bytes); // the wait ran out: one last try
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waiters);
        }
    }
}
