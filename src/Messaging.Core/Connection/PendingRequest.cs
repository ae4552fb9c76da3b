using System.Diagnostics;
using System.Globalization;
using Messaging.Buffers;
using Messaging.Errors;
using Messaging.Protocol;
using Messaging.Threading;

namespace Messaging.Connection;

/// <summary>A pending request whose caller awaits a <typeparamref name="TResult"/>.</summary>
internal abstract class PendingRequest<TResult> : PooledValueTaskSource<TResult>, IPendingRequest
{
    public int CorrelationId { get; private set; }

    public ApiKey ApiKey { get; private set; }

    public short Version { get; private set; }

    public long StartTimestamp { get; private set; }

    public long DeadlineTimestamp { get; private set; }

    public long MeasuredFrom { get; private set; }

    public IResponseBufferPool? ResponseBuffers { get; protected set; }

    public bool OutsideInFlightLimit { get; set; }

    private TimeSpan _timeout;

    public bool TryComplete(ResponseFrame frame)
    {
        // Only the winner looks at the frame: a response for a caller that is gone is not decoded.
        var won = TryClaim();
        try
        {
            if (won)
            {
                OnResponse(frame);
            }
        }
        finally
        {
            // Even if OnResponse threw (it completes the caller first, see DecodingPendingRequest), the FIFO lets go.
            Release();
        }

        return won;
    }

    /// <summary>Starts a use: the request is sent now (on <paramref name="clock"/>) and times out after <paramref name="timeout"/>.</summary>
    protected void Start(ApiKey apiKey, short version, int correlationId, Clock clock, TimeSpan timeout)
    {
        ApiKey = apiKey;
        Version = version;
        OutsideInFlightLimit = false;
        CorrelationId = correlationId;
        _timeout = timeout;
        RestartTimeout(clock);
        MeasuredFrom = clock.IsSystem ? StartTimestamp : Stopwatch.GetTimestamp();
    }

    /// <summary>
    /// Counts the timeout from now: the request goes on the wire only now, after waiting for an in-flight slot or the
    /// writer. Call it before the request is enqueued (the timeout sweep reads these under the FIFO's lock).
    /// </summary>
    public void RestartTimeout(Clock clock)
    {
        StartTimestamp = clock.Now;
        DeadlineTimestamp = clock.After(StartTimestamp, _timeout);
    }

    /// <summary>Takes the response frame (and must dispose it) and completes the caller's await (<see cref="PooledValueTaskSource{TResult}.SetResult"/> or <see cref="PooledValueTaskSource{TResult}.SetException"/>).</summary>
    protected abstract void OnResponse(ResponseFrame frame);
}

/// <summary>Awaited as the raw <see cref="ResponseFrame"/> (the caller decodes it and disposes the frame).</summary>
internal sealed class FramePendingRequest : PendingRequest<ResponseFrame>
{
    private static readonly BoundedPool<FramePendingRequest> Pool = new(1024);

    public static FramePendingRequest Rent(ApiKey apiKey, short version, int correlationId, Clock clock, TimeSpan timeout, IResponseBufferPool? responseBuffers)
    {
        var request = Pool.Rent() ?? new FramePendingRequest();
        request.ResponseBuffers = responseBuffers;
        request.Start(apiKey, version, correlationId, clock, timeout);
        return request;
    }

    protected override void OnResponse(ResponseFrame frame) => SetResult(frame);

    protected override void ReturnToPool()
    {
        ResponseBuffers = null;
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

    public static DecodingPendingRequest<TResponse> Rent(BrokerConnection connection, ApiKey apiKey, short version, int correlationId, Clock clock, TimeSpan timeout)
    {
        var request = Pool.Rent() ?? new DecodingPendingRequest<TResponse>();
        request._connection = connection;
        request.Start(apiKey, version, correlationId, clock, timeout);
        return request;
    }

    protected override void OnResponse(ResponseFrame frame)
    {
        var connection = _connection!;
        TResponse response;
        try
        {
            response = ResponseDecoder.Decode<TResponse>(frame, Version, connection.Limits);
            if (response is IThrottledResponse { ThrottleTimeMs: > 0 } throttled)
            {
                connection.ReportThrottle(ApiKey, throttled.ThrottleTimeMs);
            }
        }
        catch (KafkaProtocolException ex)
        {
            // Framing held but the body is not what the version promises: this broker (or our view of it) is broken.
            Fail(connection, Errors.KafkaExceptions.UndecodableResponse(ApiKey, Version, connection.Name, ex));
            return;
        }
        catch (Exception ex)
        {
            // Anything else (a plugged-in logger throwing while the throttle is reported, a decoder bug): this request
            // is claimed, so unless it is failed here its caller waits for ever. Whether the connection's state is
            // still sound (the throttle may not be recorded) is unknown, so it closes like for a body that does not decode.
            Fail(connection, new KafkaConnectionException(
                string.Create(CultureInfo.InvariantCulture, $"Handling the {ApiKey} v{Version} response from {connection.Name} failed ({ex.Message}). The connection is closed. Retriable."),
                connection.Name,
                ex));
            return;
        }
        finally
        {
            // The decoded response does not slice the frame: the buffer goes back to its pool on every path.
            frame.Dispose();
        }

        SetResult(response);
    }

    /// <summary>Fails the caller first (so a close that throws, e.g. its log, cannot leave it waiting), then closes the connection.</summary>
    private void Fail(BrokerConnection connection, KafkaConnectionException error)
    {
        SetException(error);
        connection.CloseBecause(error);
    }

    protected override void ReturnToPool()
    {
        _connection = null;
        Pool.Return(this);
    }
}
