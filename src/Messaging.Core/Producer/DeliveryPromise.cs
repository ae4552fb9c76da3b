using System.Collections.Concurrent;
using System.Threading.Tasks.Sources;

namespace Messaging.Producer;

/// <summary>
/// The pooled <see cref="IValueTaskSource{TResult}"/> behind <c>ProduceAsync</c>: one per awaited record, reused, so
/// awaiting a delivery allocates no Task.
/// </summary>
/// <remarks>
/// Two owners hold it: the batch that will complete it, and the caller's awaiter (until <see cref="GetResult"/>).
/// It returns to the pool when both have let go, so a caller that cancelled its wait cannot see a late result, and
/// a late result cannot land in a recycled promise. Completion is first-wins (result, failure or cancellation);
/// continuations run asynchronously, never on the producer's I/O thread.
/// </remarks>
internal sealed class DeliveryPromise : IValueTaskSource<DeliveryResult>
{
    // Enough for tens of thousands of awaits in flight at once; a promise is about 100 bytes.
    private const int MaxPooled = 32 * 1024;
    private static readonly ConcurrentQueue<DeliveryPromise> Pool = new();
    private static int _pooledCount;

    private ManualResetValueTaskSourceCore<DeliveryResult> _core = new() { RunContinuationsAsynchronously = true };
    private CancellationTokenRegistration _cancellation;
    private int _completed;
    private int _owners;

    private DeliveryPromise()
    {
    }

    /// <summary>The awaitable for the caller; await it once.</summary>
    public ValueTask<DeliveryResult> Task => new(this, _core.Version);

    public static DeliveryPromise Rent()
    {
        if (Pool.TryDequeue(out var promise))
        {
            Interlocked.Decrement(ref _pooledCount);
        }
        else
        {
            promise = new DeliveryPromise();
        }

        promise._completed = 0;
        promise._owners = 2;
        return promise;
    }

    /// <summary>Fails the wait with <see cref="OperationCanceledException"/> when the token fires; the record may still be delivered.</summary>
    public void RegisterCancellation(CancellationToken cancellationToken)
    {
        if (cancellationToken.CanBeCanceled)
        {
            _cancellation = cancellationToken.UnsafeRegister(
                static (state, token) => ((DeliveryPromise)state!).Cancel(token), this);
        }
    }

    public bool TrySetResult(in DeliveryResult result)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            Release();
            return false;
        }

        _core.SetResult(result);
        Release();
        return true;
    }

    public bool TrySetException(Exception error)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            Release();
            return false;
        }

        _core.SetException(error);
        Release();
        return true;
    }

    /// <summary>The producer drops the promise without completing it (the record never got buffered): the caller never saw it either.</summary>
    public void Abandon()
    {
        _owners = 0;
        Recycle();
    }

    public DeliveryResult GetResult(short token)
    {
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

    private void Cancel(CancellationToken token)
    {
        if (Interlocked.Exchange(ref _completed, 1) == 0)
        {
            _core.SetException(new OperationCanceledException("The wait for the delivery report was cancelled; the record may still be delivered.", token));
        }
    }

    private void Release()
    {
        if (Interlocked.Decrement(ref _owners) == 0)
        {
            Recycle();
        }
    }

    private void Recycle()
    {
        // Disposing the registration waits out a callback running on another thread, so none reaches a recycled promise.
        _cancellation.Dispose();
        _cancellation = default;
        _core.Reset();
        if (Interlocked.Increment(ref _pooledCount) <= MaxPooled)
        {
            Pool.Enqueue(this);
        }
        else
        {
            Interlocked.Decrement(ref _pooledCount);
        }
    }
}
