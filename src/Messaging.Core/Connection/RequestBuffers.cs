using Messaging.Buffers;
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
    private static readonly BoundedPool<ContiguousBufferWriter> Pool = new(64);

    private static long _outstanding;

    /// <summary>Buffers rented and not yet returned, process-wide: zero when every request's buffer came back (leak tests).</summary>
    public static long Outstanding => Volatile.Read(ref _outstanding);

    public static ContiguousBufferWriter Rent()
    {
        Interlocked.Increment(ref _outstanding);
        return Pool.Rent() ?? new ContiguousBufferWriter(4096);
    }

    public static void Return(ContiguousBufferWriter buffer)
    {
        Interlocked.Decrement(ref _outstanding);
        if (buffer.Capacity > MaxRetainedBytes)
        {
            buffer.Dispose();
            return;
        }

        buffer.Clear();
        Pool.Return(buffer); // beyond the pool's capacity the buffer is dropped; its array is then only GC'd, not leaked
    }
}
