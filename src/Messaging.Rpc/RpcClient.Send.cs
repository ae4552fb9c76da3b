using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.IO;

namespace Messaging.Rpc;

/// <summary>The client's send path: a request's headers, its produce (pooled stream or span), one-way sends, and method names.</summary>
public sealed partial class RpcClient
{
    /// <summary>
    /// Produces the request of a pending call. The producer copies key, payload and headers into its batch before
    /// returning, so the header values that point into the call and the payload's pooled stream may be reused right
    /// after; the outcome of the send arrives later through <see cref="OnRequestDelivered"/>. A failure to buffer
    /// fails the call (its caller then sees it through the await).
    /// </summary>
    private void Send(PendingCall call, string topic, string method, ReadOnlySpan<byte> payload, byte[] contentType, DateTimeOffset deadline, in RpcCallOptions options)
    {
        var values = call.HeaderValues;
        RpcWire.WriteDeadline(deadline, values.AsSpan(RpcWire.CorrelationIdLength));
        Send(call, call.Generation, values, topic, method, payload, contentType, options, hedge: false);
    }

    /// <summary>
    /// Produces a request for generation <paramref name="generation"/> of <paramref name="call"/> with header values
    /// <paramref name="values"/> (correlation ID, deadline). A hedged request's failure to send does not fail the call.
    /// </summary>
    private void Send(PendingCall call, int generation, byte[] values, string topic, string method, ReadOnlySpan<byte> payload, byte[] contentType,
        in RpcCallOptions options, bool hedge)
    {
        if (call.Generation != generation || call.IsClaimed)
        {
            return; // already cancelled, disposed or answered: nothing to send
        }

        var count = HeaderCount(_route, options.Headers);
        var headers = ArrayPool<RecordHeader>.Shared.Rent(count);
        try
        {
            var n = WriteHeaders(headers, values, _route, method, contentType, options.Headers);
            var key = options.Key;
            var record = new ProducerRecord
            {
                Key = key.GetValueOrDefault().Span,
                KeyIsNull = key is null,
                Value = payload,
                Headers = headers.AsSpan(0, n),
            };
            var token = new DeliveryToken(_calls, call, generation, hedge);
            if (!_producer.TryProduce(topic, record, token, OnRequestDelivered))
            {
                // The producer would have to wait — for the topic's metadata (it drops a topic idle for
                // MetadataMaxIdle and asks for it again), for buffer memory, or behind earlier records that wait —
                // which must not block the caller's thread: wait on the asynchronous path, with copies.
                var stream = _streams.GetStream();
                stream.Write(payload);
                ReadOnlyMemory<byte>? ownKey = key is { } k ? k.ToArray() : null;
                _ = SendWaitingAsync(token, topic, stream, ownKey, OwnedHeaders((byte[])values.Clone(), _route, method, contentType, options.Headers));
            }
        }
#pragma warning disable CA1031 // Any refusal by the producer becomes the call's typed error.
        catch (Exception ex) when (!hedge)
#pragma warning restore CA1031
        {
            _calls.Fail(call, generation, RpcErrors.SendFailed(method, topic, call.CorrelationId, _time.GetElapsedTime(call.StartTimestamp), ex));
        }
#pragma warning disable CA1031 // A hedge that cannot go changes nothing: the first request is still out.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
        finally
        {
            headers.AsSpan(0, count).Clear(); // drop the references to the caller's headers and this call
            ArrayPool<RecordHeader>.Shared.Return(headers);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendOneWayAsync(string topic, string method, ReadOnlyMemory<byte> payload, byte[] contentType, DateTimeOffset deadline,
        RpcCallOptions options, long start, CancellationToken cancellationToken)
    {
        var values = new byte[RpcWire.CorrelationIdLength + RpcWire.DeadlineLength];
        RpcWire.WriteDeadline(deadline, values.AsSpan(RpcWire.CorrelationIdLength));
        var headers = OwnedHeaders(values, null, method, contentType, options.Headers);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposing.Token);
        using var far = new FarDeadline(timeout, deadline, _time); // on the client's clock; disposed before the source
        try
        {
            await _producer.ProduceAsync(topic, options.Key, payload, headers, cancellationToken: timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex)
        {
            throw _disposing.IsCancellationRequested
                ? RpcErrors.Disposed(method, topic, Guid.Empty, _time.GetElapsedTime(start), false)
                : cancellationToken.IsCancellationRequested
                    ? RpcErrors.ForCall(RpcStatus.Cancelled, "the caller cancelled the call", method, topic, Guid.Empty, _time.GetElapsedTime(start), false, ex)
                    : RpcErrors.DeadlineExceeded(method, topic, Guid.Empty, _time.GetElapsedTime(start), false);
        }
        catch (Exception ex) when (ex is KafkaException or ObjectDisposedException)
        {
            throw RpcErrors.SendFailed(method, topic, Guid.Empty, _time.GetElapsedTime(start), ex);
        }
    }

    /// <summary>How many headers a request carries: the RPC headers (routing ones only for calls) and the caller's.</summary>
    private static int HeaderCount(ReplyRoute? route, IReadOnlyList<RecordHeader>? userHeaders) =>
        (route is null ? 3 : 6) + (userHeaders?.Count ?? 0) + KafkaTraceContext.MaxHeaders;

    /// <summary>
    /// Writes a request's headers: for a call (<paramref name="route"/> set) the correlation ID and reply routing, then
    /// method, deadline and content type, then the caller's headers (but those named as one of these), then the trace
    /// context. <paramref name="values"/> holds the correlation ID (first 16 bytes) and the encoded deadline (next 8).
    /// Returns the count written.
    /// </summary>
    private int WriteHeaders(Span<RecordHeader> headers, byte[] values, ReplyRoute? route, string method, byte[] contentType, IReadOnlyList<RecordHeader>? userHeaders)
    {
        var n = 0;
        if (route is not null)
        {
            headers[n++] = new RecordHeader(_wire.CorrelationId, values.AsMemory(0, RpcWire.CorrelationIdLength));
            headers[n++] = new RecordHeader(_wire.ReplyTopic, route.TopicBytes);
            headers[n++] = new RecordHeader(_wire.ReplyPartition, route.PartitionBytes(values.AsSpan(0, RpcWire.CorrelationIdLength)));
        }

        headers[n++] = new RecordHeader(_wire.Method, MethodName(method));
        headers[n++] = new RecordHeader(_wire.Deadline, values.AsMemory(RpcWire.CorrelationIdLength, RpcWire.DeadlineLength));
        headers[n++] = new RecordHeader(_wire.ContentType, contentType);
        if (userHeaders is not null)
        {
            for (var i = 0; i < userHeaders.Count; i++)
            {
                // A caller's header named as one of the request's own (the last occurrence counts) would reroute or
                // rename the request — a handler passing on its request's headers passes those on too: not sent.
                if (!_wire.IsRequestHeader(userHeaders[i]))
                {
                    headers[n++] = userHeaders[i];
                }
            }
        }

        // The current span — the call's, or the caller's own when nobody listens to ours — travels as W3C trace context.
        return n + KafkaTraceContext.Inject(Activity.Current, headers[n..]);
    }

    /// <summary>
    /// A request's headers in an array of exactly their count, for the producer's asynchronous path, which keeps the
    /// array until the record is in a batch (so it cannot be a pooled one). Sized by what was written, not by the
    /// upper bound: unused trace-context slots would otherwise go out as headers with an empty name.
    /// </summary>
    private RecordHeader[] OwnedHeaders(byte[] values, ReplyRoute? route, string method, byte[] contentType, IReadOnlyList<RecordHeader>? userHeaders)
    {
        var headers = new RecordHeader[HeaderCount(route, userHeaders)];
        var n = WriteHeaders(headers, values, route, method, contentType, userHeaders);
        if (n < headers.Length)
        {
            Array.Resize(ref headers, n);
        }

        return headers;
    }

    /// <summary>
    /// Sends a call's request to a topic the producer may not have metadata for yet, without blocking a thread for it:
    /// through the producer's asynchronous path, which keeps the payload, key and headers until the record is in a
    /// batch. So this owns <paramref name="stream"/> (returned in its <c>finally</c>) and copies what points into the
    /// call or the caller's memory. Not awaited by the caller: the call completes through the pending map (the
    /// deadline included) whatever this is doing. Once a request is delivered the topic is warm and later calls take
    /// the synchronous path.
    /// </summary>
    private void SendCold(PendingCall call, string topic, string method, RecyclableMemoryStream stream, byte[] contentType, DateTimeOffset deadline,
        in RpcCallOptions options)
    {
        var generation = call.Generation;
        if (call.IsClaimed)
        {
            stream.Dispose();
            return;
        }

        var values = (byte[])call.HeaderValues.Clone(); // the call's own bytes are reused once it completes
        RpcWire.WriteDeadline(deadline, values.AsSpan(RpcWire.CorrelationIdLength));
        var headers = OwnedHeaders(values, _route, method, contentType, options.Headers);
        ReadOnlyMemory<byte>? key = options.Key is { } k ? k.ToArray() : null;
        _ = SendWaitingAsync(new DeliveryToken(_calls, call, generation, Hedge: false), topic, stream, key, headers);
    }

    /// <summary>
    /// Produces a request through the producer's asynchronous path (which waits for metadata or memory without
    /// blocking a thread) and reports the outcome as <see cref="OnRequestDelivered"/> does. Owns
    /// <paramref name="stream"/>: returned in its <c>finally</c>. Once delivered, the topic is warm.
    /// </summary>
    private async Task SendWaitingAsync(DeliveryToken token, string topic, RecyclableMemoryStream stream, ReadOnlyMemory<byte>? key, RecordHeader[] headers)
    {
        try
        {
            await _producer.ProduceAsync(topic, key, PayloadMemory(stream), headers).ConfigureAwait(false);
            _topics.MarkWarm(topic);
            OnRequestDelivered(default, null, token);
        }
        catch (ProduceException ex)
        {
            OnRequestDelivered(default, ex, token);
        }
#pragma warning disable CA1031 // Nobody awaits this: every failure goes to the call (a hedge's changes nothing).
        catch (Exception ex) when (!token.Hedge)
#pragma warning restore CA1031
        {
            _calls.OnSendFailed(token.Call, token.Generation, ex);
        }
#pragma warning disable CA1031
        catch (Exception)
#pragma warning restore CA1031
        {
        }
        finally
        {
            stream.Dispose();
        }
    }

    private byte[] MethodName(string method)
    {
        if (_methodNames.TryGetValue(method, out var bytes))
        {
            return bytes;
        }

        bytes = Encoding.UTF8.GetBytes(method);
        if (_methodNames.Count < MaxCachedMethods)
        {
            _methodNames.TryAdd(method, bytes);
        }

        return bytes;
    }
}
