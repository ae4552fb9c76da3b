using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Tasks.Sources;
using Messaging.Protocol;

namespace Messaging.Connection;

/// <summary>
/// A request sent on a connection and awaiting its response: a pooled <see cref="IValueTaskSource{TResult}"/>, so
/// a request in the steady state allocates no Task.
/// </summary>
/// <remarks>
/// <para>Two owners hold it: the connection's FIFO (until the response is read, or the connection fails it) and the
/// caller's awaiter (until <see cref="GetResult"/>). It goes back to the pool when both have let go, so a caller that
/// cancelled cannot see the late response, and the late response cannot land in a recycled request.</para>
/// <para>Completion is first-wins: the response, a failure of the connection, the caller's cancellation and the
/// timeout sweep race through <see cref="_completed"/>; losers do nothing (a losing response frame is disposed by
/// the read loop).</para>
/// </remarks>
internal sealed class PendingRequest : IValueTaskSource<ResponseFrame>
{
    private const int MaxPooled = 1024;
    private static readonly ConcurrentQueue<PendingRequest> Pool = new();
    private static int _pooledCount;

    private ManualResetValueTaskSourceCore<ResponseFrame> _core = new() { RunContinuationsAsynchronously = true };
    private CancellationTokenRegistration _cancellation;
    private int _completed;
    private int _owners;

    private PendingRequest()
    {
    }

    public int CorrelationId { get; private set; }

    public ApiKey ApiKey { get; private set; }

    public short Version { get; private set; }

    /// <summary>When it was enqueued, in <see cref="Stopwatch"/> ticks.</summary>
    public long StartTimestamp { get; private set; }

    /// <summary>When it is overdue, in <see cref="Stopwatch"/> ticks.</summary>
    public long DeadlineTimestamp { get; private set; }

    /// <summary>The pool the response frame's buffer comes from, or null for the read loop's default.</summary>
    public IResponseBufferPool? ResponseBuffers { get; private set; }

    /// <summary>True once a result or an error was set (including the caller's cancellation).</summary>
    public bool IsCompleted => Volatile.Read(ref _completed) != 0;

    /// <summary>The awaitable the caller gets; await it once.</summary>
    public ValueTask<ResponseFrame> AsValueTask() => new(this, _core.Version);

    public static PendingRequest Rent(ApiKey apiKey, short version, int correlationId, TimeSpan timeout, IResponseBufferPool? responseBuffers = null)
    {
        if (Pool.TryDequeue(out var request))
        {
            Interlocked.Decrement(ref _pooledCount);
        }
        else
        {
            request = new PendingRequest();
        }

        request.ApiKey = apiKey;
        request.ResponseBuffers = responseBuffers;
        request.Version = version;
        request.CorrelationId = correlationId;
        request.StartTimestamp = Stopwatch.GetTimestamp();
        request.DeadlineTimestamp = request.StartTimestamp + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        request._completed = 0;
        request._owners = 2;
        return request;
    }

    /// <summary>Fails the caller's await with <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> fires; the entry stays in the FIFO until its response is read.</summary>
    public void RegisterCancellation(CancellationToken cancellationToken)
    {
        if (cancellationToken.CanBeCanceled)
        {
            _cancellation = cancellationToken.UnsafeRegister(
                static (state, token) => ((PendingRequest)state!).TryFail(new OperationCanceledException(token)),
                this);
        }
    }

    /// <summary>Hands the frame to the caller; false if the request was already completed (the caller keeps nothing).</summary>
    public bool TryComplete(ResponseFrame frame)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return false;
        }

        _cancellation.Unregister();
        _core.SetResult(frame);
        return true;
    }

    /// <summary>Fails the caller's await; false if the request was already completed.</summary>
    public bool TryFail(Exception exception)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return false;
        }

        _cancellation.Unregister();
        _core.SetException(exception);
        return true;
    }

    /// <summary>The connection's FIFO lets go (the response was read, or the connection failed the request).</summary>
    public void ReleaseFromQueue() => Release();

    public ResponseFrame GetResult(short token)
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

    private void Release()
    {
        if (Interlocked.Decrement(ref _owners) != 0)
        {
            return;
        }

        // Both owners are done. The caller registered its token before it could await, so the registration is in
        // place; disposing it waits out a callback racing on another thread, so no stale callback can reach this
        // object once it is recycled.
        _cancellation.Dispose();
        _cancellation = default;
        ResponseBuffers = null;
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
