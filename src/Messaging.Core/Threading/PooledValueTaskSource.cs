using System.Threading.Tasks.Sources;

namespace Messaging.Threading;

/// <summary>
/// A pooled, reusable <see cref="IValueTaskSource{TResult}"/> that one party completes and one caller awaits once:
/// awaiting it allocates no Task, and in the steady state renting one allocates nothing. The connection's pending
/// requests and the producer's delivery promises are built on it; each keeps its own bounded pool.
/// </summary>
/// <remarks>
/// <para>Two owners hold it from the moment it is rented: the <em>completer</em> (the connection's FIFO, the
/// producer's batch), which lets go by completing it — <see cref="TrySetResult"/> or <see cref="TrySetException"/>,
/// whether that call wins or loses — and the <em>awaiter</em>, which lets go in <see cref="GetResult"/>. It goes
/// back to its pool (<see cref="ReturnToPool"/>) only when both have let go, so a caller that cancelled its wait
/// cannot see a late result, and a late result cannot land in a recycled source.</para>
/// <para>Completion is first-wins: the result, a failure and the caller's cancellation race through
/// <see cref="TryClaim"/>; losers do nothing (a loser that carries something to release — a response frame — still
/// owns it). Continuations run asynchronously, never on the completer's thread (a connection's read loop, the
/// producer's I/O thread).</para>
/// <para>Every member is non-virtual except the pool hook, called once per use, and the cancellation error, called
/// only on cancellation; a sealed subclass over this base costs no virtual call per completion.</para>
/// </remarks>
/// <typeparam name="TResult">What the awaiter gets.</typeparam>
internal abstract class PooledValueTaskSource<TResult> : IValueTaskSource<TResult>
{
    private const int BothOwners = 2;

    private ManualResetValueTaskSourceCore<TResult> _core = new() { RunContinuationsAsynchronously = true };
    private CancellationTokenRegistration _cancellation;
    private int _completed;
    private int _owners = BothOwners;

    /// <summary>True once a result or an error was set (including the caller's cancellation).</summary>
    public bool IsCompleted => Volatile.Read(ref _completed) != 0;

    /// <summary>The awaitable the caller gets; await it once.</summary>
    public ValueTask<TResult> AsValueTask() => new(this, _core.Version);

    /// <summary>
    /// Fails the caller's await (<see cref="CreateCancellationException"/>) when <paramref name="cancellationToken"/>
    /// fires; the completer still owns the source and completes it later (and loses).
    /// </summary>
    /// <remarks>
    /// Call it before the caller gets <see cref="AsValueTask"/>: the awaiter can then only let go after the
    /// registration is stored, so the last owner to let go always finds it and disposes it. A token that already
    /// fired runs the callback here, synchronously.
    /// </remarks>
    public void RegisterCancellation(CancellationToken cancellationToken)
    {
        if (cancellationToken.CanBeCanceled)
        {
            _cancellation = cancellationToken.UnsafeRegister(
                static (state, token) => ((PooledValueTaskSource<TResult>)state!).TryCancel(token), this);
        }
    }

    /// <summary>The completer completes the await with <paramref name="result"/> and lets go; false if it was completed already.</summary>
    public bool TrySetResult(in TResult result)
    {
        var won = TryClaim();
        if (won)
        {
            SetResult(result);
        }

        Release();
        return won;
    }

    /// <summary>The completer fails the await with <paramref name="error"/> and lets go; false if it was completed already.</summary>
    public bool TrySetException(Exception error)
    {
        var won = TryClaim();
        if (won)
        {
            SetException(error);
        }

        Release();
        return won;
    }

    /// <summary>
    /// Fails the await with <see cref="CreateCancellationException"/>; false if it was completed already. Not an
    /// owner's call, so nobody lets go: only the registered token's callback makes it, which the last owner's
    /// <see cref="Recycle"/> waits out — anyone else calling it could reach the source after it was recycled.
    /// </summary>
    protected bool TryCancel(CancellationToken cancellationToken)
    {
        if (!TryClaim())
        {
            return false;
        }

        SetException(CreateCancellationException(cancellationToken));
        return true;
    }

    /// <summary>The awaiter takes the result (or its error) and lets go.</summary>
    public TResult GetResult(short token)
    {
        // A stale token — a second await of a source that was recycled since — must throw before it releases an owner
        // of the source's next use (the core would throw too, but in the finally below the release would still run).
        if (token != _core.Version)
        {
            throw new InvalidOperationException("This pooled ValueTask was awaited already; it may be awaited once.");
        }

        // A result read before completion (`.Result` or `GetAwaiter().GetResult()` on a ValueTask still pending) throws
        // here too, still holding the awaiter's share: letting go now would let the completer recycle the source while
        // the caller can still await it.
        if (_core.GetStatus(token) == ValueTaskSourceStatus.Pending)
        {
            throw new InvalidOperationException(
                "This pooled ValueTask has not completed; await it (or block on AsTask()) instead of reading its result synchronously.");
        }

        try
        {
            return _core.GetResult(token);
        }
        finally
        {
            Release();
        }
    }

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    /// <summary>
    /// Claims the one completion: true for exactly one caller, who must then call <see cref="SetResult"/> or
    /// <see cref="SetException"/>. For a completer that decides its result only once it won (a connection decodes a
    /// response only for a caller still waiting); the completer lets go with <see cref="Release"/> afterwards.
    /// </summary>
    protected bool TryClaim()
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return false;
        }

        // Drop the registration early (a no-op when there is none, or when it is this very callback); the last
        // owner's Dispose still waits out a callback that is running on another thread.
        _cancellation.Unregister();
        return true;
    }

    /// <summary>Completes the await; only after <see cref="TryClaim"/> returned true.</summary>
    protected void SetResult(in TResult result) => _core.SetResult(result);

    /// <summary>Fails the await; only after <see cref="TryClaim"/> returned true.</summary>
    protected void SetException(Exception error) => _core.SetException(error);

    /// <summary>One owner lets go; the last one recycles the source.</summary>
    protected void Release()
    {
        if (Interlocked.Decrement(ref _owners) == 0)
        {
            Recycle();
        }
    }

    /// <summary>The source was never handed out (nobody awaits it, nobody will complete it): it goes straight back.</summary>
    protected void RecycleUnused()
    {
        _owners = 0;
        Recycle();
    }

    /// <summary>The error a cancelled await throws.</summary>
    protected virtual Exception CreateCancellationException(CancellationToken cancellationToken) => new OperationCanceledException(cancellationToken);

    /// <summary>Clears what the subclass holds for one use and returns the (already reset) source to its own bounded pool, or leaves it to the GC when that is full.</summary>
    protected abstract void ReturnToPool();

    private void Recycle()
    {
        // Both owners are done. The caller registered its token before it could await, so the registration is in
        // place; disposing it waits out a callback racing on another thread, so no stale callback can reach this
        // object once it is recycled.
        _cancellation.Dispose();
        _cancellation = default;
        _core.Reset();

        // Armed for the next use here, so renting is just taking it from the pool. Nobody else holds it now: the
        // completer and the awaiter let go, and the callback is gone; the pool's hand-over publishes these writes.
        _completed = 0;
        _owners = BothOwners;
        ReturnToPool();
    }
}
