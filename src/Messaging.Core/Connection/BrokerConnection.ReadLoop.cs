using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using Messaging.Errors;

namespace Messaging.Connection;

/// <summary>The read side: one loop per connection owns every read and hands each response to the FIFO's head.</summary>
internal sealed partial class BrokerConnection
{
    // Read by the loop only: the 4-byte size prefix of the next response.
    private readonly byte[] _sizePrefix = new byte[4];

    /// <summary>The first buffer a frame gets; it grows as bytes arrive, so a size prefix alone cannot make us allocate.</summary>
    private const int InitialFrameBytes = 64 * 1024;

    /// <remarks>
    /// One long-lived async method (its state machine is allocated once per connection), so reading a response
    /// allocates nothing but the pooled frame buffer.
    /// </remarks>
    private async Task ReadLoopAsync()
    {
        // Run the loop off the connecting caller's stack.
        await Task.Yield();
        byte[]? buffer = null;
        try
        {
            while (true)
            {
                var prefix = _sizePrefix.AsMemory();
                while (!prefix.IsEmpty)
                {
                    var read = await _transport.ReceiveAsync(prefix, CancellationToken.None).ConfigureAwait(false);
                    prefix = read > 0 ? prefix[read..] : throw new IOException("the broker closed the connection");
                }

                var size = BinaryPrimitives.ReadInt32BigEndian(_sizePrefix);

                // Bounded before anything is allocated: a hostile or broken size closes the connection.
                if (size < 4 || size > _settings.MaxResponseBytes)
                {
                    throw KafkaExceptions.OversizedFrame(Name, size, _settings.MaxResponseBytes);
                }

                // A request that brought its own buffer pool (Fetch) gets the whole frame in one buffer from it.
                var pool = HeadResponseBuffers();
                if (pool?.TryRent(size) is { } pooled)
                {
                    ResponseFrame owned;
                    try
                    {
                        var target = pooled.AsMemory(0, size);
                        while (!target.IsEmpty)
                        {
                            var read = await _transport.ReceiveAsync(target, CancellationToken.None).ConfigureAwait(false);
                            target = read > 0 ? target[read..] : throw new IOException("the broker closed the connection in the middle of a response");
                        }

                        owned = ResponseFrame.Wrap(pooled, size, pool);
                    }
                    catch
                    {
                        pool.Return(pooled);
                        throw;
                    }

                    _settings.Metrics.BytesReceived.Add(size + 4, _settings.ClientTag);
                    Dispatch(owned);
                    continue;
                }

                buffer = ArrayPool<byte>.Shared.Rent(Math.Min(size, InitialFrameBytes));
                var filled = 0;
                while (filled < size)
                {
                    if (filled == buffer.Length)
                    {
                        // Grow only as the peer actually sends: memory follows bytes received, not bytes promised.
                        var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(size, (long)buffer.Length * 2));
                        buffer.AsSpan(0, filled).CopyTo(larger);
                        ResponseFrame.ReturnShared(buffer); // a large one is left to the GC
                        buffer = larger;
                    }

                    var read = await _transport.ReceiveAsync(buffer.AsMemory(filled, Math.Min(size, buffer.Length) - filled), CancellationToken.None).ConfigureAwait(false);
                    filled += read > 0 ? read : throw new IOException("the broker closed the connection in the middle of a response");
                }

                _settings.Metrics.BytesReceived.Add(size + 4, _settings.ClientTag);
                var frame = ResponseFrame.Wrap(buffer, size);
                buffer = null; // the frame owns it now
                Dispatch(frame);
            }
        }
        catch (Exception ex)
        {
            if (buffer is not null)
            {
                ResponseFrame.ReturnShared(buffer); // a large one is left to the GC
            }

            // The transport closing under us after Close() is the normal way out; anything else is why we close.
            Close(ex);
        }
    }

    /// <summary>The response buffer pool of the request at the FIFO's head (the one the next response answers), if any.</summary>
    private IResponseBufferPool? HeadResponseBuffers()
    {
        lock (_pending.SyncRoot)
        {
            return _pending.Peek()?.ResponseBuffers;
        }
    }

    /// <summary>Matches a response to the FIFO's head and completes it; a stranger closes the connection.</summary>
    private void Dispatch(ResponseFrame frame)
    {
        var correlationId = BinaryPrimitives.ReadInt32BigEndian(frame.Memory.Span);
        IPendingRequest request;
        lock (_pending.SyncRoot)
        {
            var head = _pending.Peek();
            if (head is null || head.CorrelationId != correlationId)
            {
                frame.Dispose();
                throw KafkaExceptions.UnexpectedCorrelationId(Name, correlationId, head?.CorrelationId);
            }

            request = _pending.Dequeue();
        }

        Volatile.Write(ref _lastActivity, _settings.Clock.Now);
        if (!request.OutsideInFlightLimit)
        {
            _inFlight.Release();
        }

        _settings.Metrics.RequestsInFlight.Add(-1, _settings.ClientTag);
        _settings.Metrics.RequestDuration.Record(Stopwatch.GetElapsedTime(request.MeasuredFrom).TotalMilliseconds, Diagnostics.KafkaMetrics.ApiTag(request.ApiKey), _settings.ClientTag);

        // Read first: once the request lets go it may be recycled for another caller.
        var apiKey = request.ApiKey;
        var version = request.Version;

        // A caller that cancelled is gone: its late response is read and dropped, never handed to anyone else. The
        // throttle it carries still mutes the connection: the broker holds the client to it all the same.
        if (!request.TryComplete(frame))
        {
            using (frame)
            {
                ReportThrottle(apiKey, DroppedResponseThrottle.Read(apiKey, version, frame, _settings.Limits));
            }
        }
    }
}
