using System.Diagnostics;
using System.Threading.Tasks.Sources;
using Messaging.Buffers;
using Messaging.Errors;
using Messaging.Protocol;

namespace Messaging.Connection;

/// <summary>
/// A request sent on a connection and awaiting its response, as the connection's FIFO sees it. Pooled: a request in
/// the steady state allocates nothing.
/// </summary>
/// <remarks>
/// <para>Two owners hold it: the connection's FIFO (until the response is read, or the connection fails it) and the
/// caller's awaiter (until it takes the result). It goes back to its pool when both have let go, so a caller that
/// cancelled cannot see the late response, and the late response cannot land in a recycled request.</para>
/// <para>Completion is first-wins: the response, a failure of the connection, the caller's cancellation and the
/// timeout sweep race through <see cref="_completed"/>; losers do nothing (a losing response frame is disposed by
/// the read loop).</para>
/// </remarks>
internal abstract class PendingRequest
{
    private CancellationTokenRegistration _cancellation;
    private int _completed;
    private int _owners;

    public int CorrelationId { get; private set; }

    public ApiKey ApiKey { get; private set; }

    public short Version { get; private set; }

    /// <summary>When it was created, in <see cref="Stopwatch"/> ticks.</summary>
    public long StartTimestamp { get; private set; }

    /// <summary>When it is overdue, in <see cref="Stopwatch"/> ticks.</summary>
    public long DeadlineTimestamp { get; private set; }

    /// <summary>True once a result or an error was set (including the caller's cancellation).</summary>
    public bool IsCompleted => Volatile.Read(ref _completed) != 0;

    /// <summary>The pool the response frame's buffer comes from, or null for the read loop's default.</summary>
    public IResponseBufferPool? ResponseBuffers { get; protected set; }

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

    /// <summary>Hands the frame over (it now owns it); false if the request was already completed (the caller still owns the frame).</summary>
    public bool TryComplete(ResponseFrame frame)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return false;
        }

        _cancellation.Unregister();
        OnResponse(frame);
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
        OnFailure(exception);
        return true;
    }

    /// <summary>The connection's FIFO lets go (the response was read, or the connection failed the request).</summary>
    public void ReleaseFromQueue() => Release();

    protected void Start(ApiKey apiKey, short version, int correlationId, TimeSpan timeout)
    {
        ApiKey = apiKey;
        Version = version;
        CorrelationId = correlationId;
        StartTimestamp = Stopwatch.GetTimestamp();
        DeadlineTimestamp = StartTimestamp + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        _completed = 0;
        _owners = 2;
    }

    /// <summary>Takes the response frame (and must dispose it) and completes the caller's await.</summary>
    protected abstract void OnResponse(ResponseFrame frame);

    protected abstract void OnFailure(Exception exception);

    /// <summary>Resets the completion state and returns the object to its pool.</summary>
    protected abstract void Recycle();

    protected void Release()
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
        Recycle();
    }
}

/// <summary>A pending request whose caller awaits a <typeparamref name="TResult"/>.</summary>
internal abstract class PendingRequest<TResult> : PendingRequest, IValueTaskSource<TResult>
{
    private ManualResetValueTaskSourceCore<TResult> _core = new() { RunContinuationsAsynchronously = true };

    /// <summary>The awaitable the caller gets; await it once.</summary>
    public ValueTask<TResult> AsValueTask() => new(this, _core.Version);

    public TResult GetResult(short token)
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

    protected void SetResult(TResult result) => _core.SetResult(result);

    protected override void OnFailure(Exception exception) => _core.SetException(exception);

    protected void ResetCore() => _core.Reset();
}

/// <summary>Awaited as the raw <see cref="ResponseFrame"/> (the caller decodes it and disposes the frame).</summary>
internal sealed class FramePendingRequest : PendingRequest<ResponseFrame>
{
    private static readonly BoundedPool<FramePendingRequest> Pool = new(1024);

    public static FramePendingRequest Rent(ApiKey apiKey, short version, int correlationId, TimeSpan timeout, IResponseBufferPool? responseBuffers)
    {
        var request = Pool.Rent() ?? new FramePendingRequest();
        request.ResponseBuffers = responseBuffers;
        request.Start(apiKey, version, correlationId, timeout);
        return request;
    }

    protected override void OnResponse(ResponseFrame frame) => SetResult(frame);

    protected override void Recycle()
    {
        ResponseBuffers = null;
        ResetCore();
        Pool.Return(this);
    }
}

/// <summary>
/// Awaited as the decoded <typeparamref name="TResponse"/>: the read loop decodes the frame and disposes it before
/// completing, so the caller's await needs no async state machine of its own.
/// </summary>
internal sealed class DecodingPendingRequest<TResponse> : PendingRequest<TResponse>
    where TResponse : IKafkaResponse<TResponse>
{
    private static readonly BoundedPool<DecodingPendingRequest<TResponse>> Pool = new(256);
    private BrokerConnection? _connection;

    public static DecodingPendingRequest<TResponse> Rent(BrokerConnection connection, ApiKey apiKey, short version, int correlationId, TimeSpan timeout)
    {
        var request = Pool.Rent() ?? new DecodingPendingRequest<TResponse>();
        request._connection = connection;
        request.Start(apiKey, version, correlationId, timeout);
        return request;
    }

    protected override void OnResponse(ResponseFrame frame)
    {
        var connection = _connection!;
        try
        {
            var response = ResponseDecoder.Decode<TResponse>(frame, Version, connection.Limits);
            if (response is IThrottledResponse { ThrottleTimeMs: > 0 } throttled)
            {
                connection.ReportThrottle(ApiKey, throttled.ThrottleTimeMs);
            }

            SetResult(response);
        }
        catch (KafkaProtocolException ex)
        {
            // Framing held but the body is not what the version promises: this broker (or our view of it) is broken.
            var error = Errors.KafkaExceptions.UndecodableResponse(ApiKey, Version, connection.Name, ex);
            OnFailure(error);
            connection.CloseBecause(error);
        }
        finally
        {
            frame.Dispose();
        }
    }

    protected override void Recycle()
    {
        _connection = null;
        ResetCore();
        Pool.Return(this);
    }
}
