using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using Messaging.Errors;
using Messaging.Protocol;

namespace Messaging.Connection;

/// <summary>The read side: one loop per connection owns every read and hands each response to the FIFO's head.</summary>
internal sealed partial class BrokerConnection
{
    // Read by the loop only: the 4-byte size prefix of the next response.
    private readonly byte[] _sizePrefix = new byte[4];

    private async Task ReadLoopAsync()
    {
        // Run the loop off the connecting caller's stack.
        await Task.Yield();
        try
        {
            while (true)
            {
                await ReceiveExactlyAsync(_sizePrefix).ConfigureAwait(false);
                var size = BinaryPrimitives.ReadInt32BigEndian(_sizePrefix);

                // Bounded before anything is allocated: a hostile or broken size closes the connection.
                if (size < 4 || size > _settings.MaxResponseBytes)
                {
                    throw KafkaExceptions.OversizedFrame(Name, size, _settings.MaxResponseBytes);
                }

                var frame = ResponseFrame.Rent(size);
                try
                {
                    await ReceiveExactlyAsync(frame.Writable).ConfigureAwait(false);
                }
                catch
                {
                    frame.Dispose();
                    throw;
                }

                Dispatch(frame);
            }
        }
        catch (Exception ex)
        {
            // The socket closing under us after Close() is the normal way out; anything else is why we close.
            Close(ex);
        }
    }

    private async ValueTask ReceiveExactlyAsync(Memory<byte> buffer)
    {
        var total = buffer.Length;
        while (!buffer.IsEmpty)
        {
            var read = await _socket.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false);
            if (read == 0)
            {
                throw new IOException("the broker closed the connection");
            }

            buffer = buffer[read..];
        }

        _settings.Metrics.BytesReceived.Add(total);
    }

    /// <summary>Matches a response to the FIFO's head and completes it; a stranger closes the connection.</summary>
    private void Dispatch(ResponseFrame frame)
    {
        var correlationId = BinaryPrimitives.ReadInt32BigEndian(frame.Memory.Span);
        PendingRequest request;
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

        Volatile.Write(ref _lastActivity, Stopwatch.GetTimestamp());
        _inFlight.Release();
        _settings.Metrics.RequestsInFlight.Add(-1);
        _settings.Metrics.RequestDuration.Record(Stopwatch.GetElapsedTime(request.StartTimestamp).TotalMilliseconds, Diagnostics.KafkaMetrics.ApiTag(request.ApiKey));

        // A caller that cancelled is gone: its late response is read and dropped, never handed to anyone else.
        if (!request.TryComplete(frame))
        {
            frame.Dispose();
        }

        request.ReleaseFromQueue();
    }
}
