using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.IO;

namespace Messaging.Rpc;

/// <summary>
/// Takes one admitted request from its headers to its acknowledged reply: skips it if its deadline passed, runs its
/// handler, turns every outcome into a status (unknown method → Unimplemented, garbled request → InvalidArgument,
/// handler exception → Internal, <see cref="RpcException"/> → its status), encodes the reply into a pooled stream and
/// sends it with the request's key and correlation ID. Knows nothing of consumers or offsets, so its outcomes are
/// tested without a broker; <see cref="ProcessAsync"/> never throws.
/// </summary>
internal sealed class RequestDispatcher
{
    /// <summary>The most characters of an error message a reply carries (at most 12 KiB of UTF-8).</summary>
    internal const int MaxErrorMessageChars = 4096;

    private readonly RpcWire _wire;
    private readonly IReplySink _sink;
    private readonly RecyclableMemoryStreamManager _streams;
    private readonly ServerCounters _counters;
    private readonly TimeProvider _time;
    private readonly RpcExpiredRequestPolicy _expiredPolicy;
    private readonly bool _includeExceptionDetails;
    private readonly CancellationToken _abort;
    private readonly ReplyCache? _cache;
    private readonly DeliveryHandler<ServerRequest> _onReplyDelivered;

    public RequestDispatcher(RpcServerOptions options, RpcWire wire, IReplySink sink, RecyclableMemoryStreamManager streams, ServerCounters counters,
        CancellationToken abort)
    {
        _wire = wire;
        _sink = sink;
        _streams = streams;
        _counters = counters;
        _time = options.TimeProvider;
        _expiredPolicy = options.ExpiredRequests;
        _includeExceptionDetails = options.IncludeExceptionDetails;
        _abort = abort;
        _cache = options.ReplyCache.Enabled ? new ReplyCache(options.ReplyCache, options.TimeProvider) : null;
        _onReplyDelivered = OnReplyDelivered;
    }

    /// <summary>
    /// Drops the reply cache's stored replies and keeps none from now on (at disposal: requests the drain gave up on may
    /// still be running, or not even started).
    /// </summary>
    public void ReleaseCache() => _cache?.Release();

    /// <summary>
    /// Handles the request and sends its reply (if it has a route and the outcome calls for one). Completes when the
    /// reply is acknowledged or given up on — or, on the fast path, as soon as the producer took the reply, holding the
    /// request (<see cref="ServerRequest.HoldForAcknowledgement"/>) until the acknowledgement releases it; either way
    /// the request's record may be recycled only once it is finished.
    /// </summary>
    /// <remarks>
    /// A handler that completes synchronously and a reply the producer buffers at once make the whole call complete
    /// synchronously: no state machine is boxed and no thread is woken for the request.
    /// </remarks>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask ProcessAsync(ServerRequest request)
    {
        RecyclableMemoryStream? stream = null;
        Activity? activity = null;
        var started = _time.GetTimestamp();
        try
        {
            var status = RpcStatus.Ok;
            string? message = null;
            var correlationId = Guid.Empty;
            var rawReply = default(ReadOnlyMemory<byte>);
            var cacheEntry = false; // true once this request holds a reply-cache entry (Begin said run): it must be completed or abandoned
            if (request.Problem != RpcStatus.Ok)
            {
                Interlocked.Increment(ref _counters.Malformed);
                status = request.Problem;
                message = request.ProblemMessage;
            }
            else if (request.Method is null)
            {
                Interlocked.Increment(ref _counters.Unimplemented);
                status = RpcStatus.Unimplemented;
                message = "The server has no method '" + request.UnknownMethod + "'.";
            }
            else if (request.Deadline is { } deadline && deadline <= _time.GetUtcNow())
            {
                Interlocked.Increment(ref _counters.Expired);
                RpcMetrics.Shared.Expired(request.TopicPartition.Topic, request.Method.Name);
                if (_expiredPolicy == RpcExpiredRequestPolicy.Drop)
                {
                    return;
                }

                status = RpcStatus.DeadlineExceeded;
                message = "The deadline passed before the server could run the request.";
            }
            else
            {
                correlationId = RpcWire.TryReadCorrelationId(request.CorrelationId.Span, out var id) ? id : Guid.Empty;
                if (_cache is not null && correlationId != Guid.Empty)
                {
                    if (await AnsweredFromCacheAsync(request, correlationId).ConfigureAwait(false))
                    {
                        return;
                    }

                    cacheEntry = true;
                }

                activity = RpcActivities.StartServerCall(request.TopicPartition.Topic, request.Method.Name, request.Headers); // null unless someone listens
                request.Context.Set(request.Method.Name, correlationId, request.Deadline, request.Key, request.Headers, request.TopicPartition,
                    request.Offset, request.HasRoute, _time, _abort);
                try
                {
                    if (request.Method is RawRpcMethod raw)
                    {
                        // The handler's bytes go to the producer as they are (it copies them into its batch): no stream.
                        rawReply = await raw.InvokeRawAsync(request.Payload, request.Context).ConfigureAwait(false);
                    }
                    else
                    {
                        stream = _streams.GetStream();
                        await request.Method.InvokeAsync(request.Payload, request.Context, stream).ConfigureAwait(false);
                    }
                }
#pragma warning disable CA1031 // Every handler failure becomes the caller's status: no request content can stop the server.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    (status, message) = Failure(request, ex);
                }
                finally
                {
                    Interlocked.Increment(ref _counters.Handled);
                }
            }

            if (activity is not null)
            {
                RpcActivities.SetOutcome(activity, status, message);
            }

            var payload = status != RpcStatus.Ok ? default : stream is not null ? RpcClient.PayloadMemory(stream) : rawReply;
            if (cacheEntry)
            {
                Remember(correlationId, request, status, message, payload);
            }

            if (request.HasRoute)
            {
                // Without a span to end after the acknowledgement, the rest is bookkeeping the acknowledgement can do.
                if (activity is null && TryReply(request, status, message, payload, request.Method?.ContentTypeUtf8, started))
                {
                    return;
                }

                await ReplyAsync(request, status, message, payload, request.Method?.ContentTypeUtf8).ConfigureAwait(false);
            }

            RpcMetrics.Shared.RecordServerRequest(request.TopicPartition.Topic, request.Method?.Name, status, _time.GetElapsedTime(started));
        }
        finally
        {
            // The producer has copied the payload into its batch (or never will): the stream goes back to the pool.
            stream?.Dispose();
            activity?.Dispose(); // the server span covers the handler and the reply's acknowledgement
        }
    }

    private (RpcStatus Status, string Message) Failure(ServerRequest request, Exception error)
    {
        Interlocked.Increment(ref _counters.HandlerErrors);
        if (error is RpcException rpc)
        {
            // OK is no failure, and a number outside the known set could not be encoded as sent: both read as Unknown.
            return (rpc.Status != RpcStatus.Ok && RpcWire.IsKnownStatus((int)rpc.Status) ? rpc.Status : RpcStatus.Unknown, rpc.Detail);
        }

        if (error is OperationCanceledException && request.Context.IsCancelled)
        {
            // The token fires for two reasons only; the timer may fire a little before the clock reads the deadline.
            return _abort.IsCancellationRequested
                ? (RpcStatus.Unavailable, "The server shut down before the handler finished.")
                : (RpcStatus.DeadlineExceeded, "The deadline passed while the handler ran.");
        }

        return (RpcStatus.Internal, _includeExceptionDetails ? error.ToString() : error.GetType().Name + ": " + error.Message);
    }

    /// <summary>
    /// A request whose correlation ID was answered (or is being answered) here: the stored reply is sent again, or the
    /// running one's awaited, and the handler does not run. False when the request must run (first of its ID, or the
    /// first one ended without a reply).
    /// </summary>
    private async ValueTask<bool> AnsweredFromCacheAsync(ServerRequest request, Guid correlationId)
    {
        while (true)
        {
            var lookup = _cache!.Begin(correlationId);
            if (lookup.Run)
            {
                return false;
            }

            if (await lookup.Reply!.ConfigureAwait(false) is not { } cached)
            {
                if (_abort.IsCancellationRequested)
                {
                    // The server is shutting down: the first one was abandoned because its handler saw the abort, or the
                    // cache was released at disposal while it ran past the grace (the release happens only after the
                    // drain ran out, which fires the abort first). Running this one now would start a handler with its
                    // token fired, or after disposal, and store a new entry in the released cache: answer as a request
                    // cut short by the shutdown is answered, so the caller retries elsewhere.
                    if (request.HasRoute)
                    {
                        await ReplyAsync(request, RpcStatus.Unavailable, "The server shut down before the handler finished.", default, null)
                            .ConfigureAwait(false);
                    }

                    return true;
                }

                continue; // the first one was abandoned: run this one (or wait for whoever took over)
            }

            Interlocked.Increment(ref _counters.ReplyCacheHits);
            RpcMetrics.Shared.ReplyCacheHit(request.TopicPartition.Topic, request.Method!.Name);
            if (request.HasRoute)
            {
                await ReplyAsync(request, cached.Status, cached.ErrorMessage, cached.Payload, cached.ContentType).ConfigureAwait(false);
            }

            return true;
        }
    }

    /// <summary>
    /// Stores the outcome for duplicates of the request — not one that says nothing about the request itself (the
    /// server shutting down, the deadline passing while it ran): a retry of those must run.
    /// </summary>
    private void Remember(Guid correlationId, ServerRequest request, RpcStatus status, string? message, ReadOnlyMemory<byte> payload)
    {
        if (status is RpcStatus.Unavailable or RpcStatus.DeadlineExceeded or RpcStatus.Cancelled)
        {
            _cache!.Abandon(correlationId);
            return;
        }

        _cache!.Complete(correlationId, new CachedReply(status, message is null ? null : Bounded(message), request.Method!.ContentTypeUtf8, payload.ToArray()));
    }

    /// <summary>
    /// Hands the reply to the producer if it can take it at once, with a delivery handler that does the rest when the
    /// broker acknowledges it: counts it, records the request's metrics, and releases the request's hold. False when
    /// the producer did not take it — it would have to wait for metadata or memory, or it refused the record — and the
    /// caller goes the awaited way (<see cref="ReplyAsync"/>), which waits, or counts the refusal.
    /// </summary>
    private bool TryReply(ServerRequest request, RpcStatus status, string? message, ReadOnlyMemory<byte> payload, ReadOnlyMemory<byte>? contentType, long started)
    {
        var headers = ReplyHeaders(request, status, message, contentType);
        request.ReplyStatus = status;
        request.StartedTimestamp = started;
        request.HoldForAcknowledgement(); // before the send: the acknowledgement may come on another thread before it returns
        var buffered = false;
        try
        {
            buffered = _sink.TrySend(request.ReplyTopic!, request.ReplyPartition, request.Key, payload, headers, request, _onReplyDelivered);
        }
#pragma warning disable CA1031 // A record the producer refuses (too large, say) is refused again, and counted, on the awaited way.
        catch (Exception)
#pragma warning restore CA1031
        {
        }

        if (!buffered)
        {
            request.Release();
        }

        return buffered;
    }

    /// <summary>The producer's report on a reply sent by <see cref="TryReply"/>, on its I/O thread: short bookkeeping, then the request may finish.</summary>
    private void OnReplyDelivered(in DeliveryResult result, ProduceException? error, ServerRequest request)
    {
        if (error is { Kind: ProduceErrorKind.RecordTooLarge } && request.ReplyStatus == RpcStatus.Ok)
        {
            // The broker refused the reply as too large (over the reply topic's max.message.bytes): the caller learns why
            // now, as on the awaited way, not at its deadline. Sent from the thread pool, not this I/O thread.
            StartReplyRefused(request, error);
            return;
        }

        Interlocked.Increment(ref error is null ? ref _counters.Replies : ref _counters.ReplyFailures);
        RpcMetrics.Shared.RecordServerRequest(request.TopicPartition.Topic, request.Method?.Name, request.ReplyStatus, _time.GetElapsedTime(request.StartedTimestamp));
        request.Release();
    }

    /// <summary>
    /// Starts <see cref="ReplyRefusedAsync"/> on the thread pool. A method of its own: a lambda in
    /// <see cref="OnReplyDelivered"/> that captures its parameters would make the compiler allocate the closure at
    /// that method's entry, on every reply (~40 B), not only on this rare path.
    /// </summary>
    private void StartReplyRefused(ServerRequest request, ProduceException error) => _ = Task.Run(() => ReplyRefusedAsync(request, error));

    /// <summary>A reply the broker refused as too large after the fast path took it: answers ResourceExhausted instead, then the request may finish.</summary>
    private async Task ReplyRefusedAsync(ServerRequest request, ProduceException error)
    {
        try
        {
            request.ReplyStatus = RpcStatus.ResourceExhausted;
            await ReplyAsync(request, RpcStatus.ResourceExhausted, Refused(error), default, null).ConfigureAwait(false);
            RpcMetrics.Shared.RecordServerRequest(request.TopicPartition.Topic, request.Method?.Name, request.ReplyStatus, _time.GetElapsedTime(request.StartedTimestamp));
        }
        finally
        {
            request.Release(); // whatever happened: a request that never finishes would hold its partition's commit for good
        }
    }

    private static string Refused(ProduceException error) => "The reply could not be sent: " + error.Message;

    /// <summary>
    /// Sends the reply through the producer's waiting path and waits for its acknowledgement. A reply the producer
    /// refuses as too large is replaced by a ResourceExhausted status without payload, so the caller learns why now
    /// rather than at its deadline.
    /// </summary>
    private async ValueTask ReplyAsync(ServerRequest request, RpcStatus status, string? message, ReadOnlyMemory<byte> payload, ReadOnlyMemory<byte>? contentType)
    {
        var headers = ReplyHeaders(request, status, message, contentType);
        try
        {
            await _sink.SendAsync(request.ReplyTopic!, request.ReplyPartition, request.Key, payload, headers).ConfigureAwait(false);
            Interlocked.Increment(ref _counters.Replies);
        }
        catch (ProduceException ex) when (ex.Kind == ProduceErrorKind.RecordTooLarge && status == RpcStatus.Ok)
        {
            await ReplyAsync(request, RpcStatus.ResourceExhausted, Refused(ex), default, null).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A reply the producer gives up on is counted; retrying it forever would hold back every later commit.
        catch (Exception)
#pragma warning restore CA1031
        {
            Interlocked.Increment(ref _counters.ReplyFailures);
        }
    }

    /// <summary>
    /// An error message as the reply carries it: at most <see cref="MaxErrorMessageChars"/> characters (never half a
    /// surrogate pair). A longer one (a handler's message quoting a large input, a deep stack trace) could make the
    /// reply larger than the producer or broker takes, and the caller would wait out its deadline instead of
    /// learning the status.
    /// </summary>
    private static string Bounded(string message)
    {
        if (message.Length <= MaxErrorMessageChars)
        {
            return message;
        }

        var cut = char.IsHighSurrogate(message[MaxErrorMessageChars - 1]) ? MaxErrorMessageChars - 1 : MaxErrorMessageChars;
        return message[..cut];
    }

    /// <summary>The reply's headers, in the request's reused arrays: correlation ID and content type (OK), or status (and message).</summary>
    private RecordHeader[] ReplyHeaders(ServerRequest request, RpcStatus status, string? message, ReadOnlyMemory<byte>? contentType)
    {
        RecordHeader[] headers;
        var id = new RecordHeader(_wire.CorrelationId, request.CorrelationId);
        if (status == RpcStatus.Ok)
        {
            headers = request.OkHeaders;
            headers[0] = id;
            headers[1] = new RecordHeader(_wire.ContentType, contentType.GetValueOrDefault());
        }
        else if (message is null)
        {
            headers = request.StatusHeaders;
            headers[0] = id;
            headers[1] = new RecordHeader(_wire.Status, RpcWire.StatusValues[(int)status]);
        }
        else
        {
            headers = request.ErrorHeaders;
            headers[0] = id;
            headers[1] = new RecordHeader(_wire.Status, RpcWire.StatusValues[(int)status]);
            headers[2] = new RecordHeader(_wire.ErrorMessage, Encoding.UTF8.GetBytes(Bounded(message)));
        }

        return headers;
    }
}
