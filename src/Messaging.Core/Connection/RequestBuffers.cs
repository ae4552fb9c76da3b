using System.Collections.Concurrent;
using Messaging.Protocol;

namespace Messaging.Connection;

/// <summary>
/// Pooled encode buffers for requests. A connection rents one, encodes a request into it before taking the write
/// lock, and returns it once the bytes are on the socket. Buffers that grew past <see cref="MaxRetainedBytes"/> are
/// released rather than pooled, so retention stays bounded.
/// </summary>
internal static class RequestBuffers
{
    public const int MaxRetainedBytes = 1024 * 1024;
    private const int MaxPooled = 64;
    private static readonly ConcurrentQueue<ContiguousBufferWriter> Pool = new();
    private static int _count;

    public static ContiguousBufferWriter Rent()
    {
        if (Pool.TryDequeue(out var buffer))
        {
            Interlocked.Decrement(ref _count);
            return buffer;
        }

        return new ContiguousBufferWriter(4096);
    }

    public static void Return(ContiguousBufferWriter buffer)
    {
        if (buffer.Capacity > MaxRetainedBytes)
        {
            buffer.Dispose();
            return;
        }

        if (Interlocked.Increment(ref _count) > MaxPooled)
        {
            Interlocked.Decrement(ref _count);
            buffer.Dispose();
            return;
        }

        buffer.Clear();
        Pool.Enqueue(buffer);
    }
}
