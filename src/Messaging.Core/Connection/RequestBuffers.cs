using System.Buffers;
using Messaging.Buffers;
using Messaging.Protocol;

namespace Messaging.Connection;

/// <summary>
/// Pooled encode buffers for requests. A connection rents one, encodes a request into it before taking the write
/// lock, and returns it once the bytes are sent.
/// </summary>
/// <remarks>
/// A pooled writer keeps at most <see cref="MaxRetainedBytes"/>: a larger array (a Produce request carrying batches)
/// goes back to the requests' own array pool when the writer is returned, where every large request of the process
/// shares it, instead of being hoarded by one of up to <see cref="PoolSize"/> idle writers. That pool is not
/// <see cref="ArrayPool{T}.Shared"/>: its per-thread caches strand arrays on the socket threads that finish writes
/// while the producer's sender threads rent them, so it misses (and allocates megabytes) now and then; one shared
/// set of buckets (<see cref="ArrayPool{T}.Create(int, int)"/>) holds a request buffer only while its bytes are
/// written, so <see cref="MaxArraysPerSize"/> per size covers every connection writing at once.
/// A caller that knows its request's size (the producer does) rents with that hint, so the writer gets an array of
/// the right size at once rather than growing by doubling and copying.
/// </remarks>
internal static class RequestBuffers
{
    public const int MaxRetainedBytes = 64 * 1024;
    public const int PoolSize = 64;
    public const int MaxArraysPerSize = 16;

    /// <summary>Request arrays larger than this (requests beyond 16 MiB, well past the default max.request.size) are allocated and dropped: pooling them would keep peaks of huge buffers alive for good.</summary>
    public const int MaxPooledArrayBytes = 16 * 1024 * 1024;
    private const int DefaultCapacity = 4096;
    private static readonly BoundedPool<ContiguousBufferWriter> Pool = new(PoolSize);
    private static readonly ArrayPool<byte> Arrays = ArrayPool<byte>.Create(MaxPooledArrayBytes, MaxArraysPerSize);

    private static long _outstanding;

    /// <summary>Buffers rented and not yet returned, process-wide: zero when every request's buffer came back (leak tests).</summary>
    public static long Outstanding => Volatile.Read(ref _outstanding);

    /// <summary>A writer with room for at least <paramref name="sizeHint"/> bytes (0: a small request).</summary>
    public static ContiguousBufferWriter Rent(int sizeHint = 0)
    {
        Interlocked.Increment(ref _outstanding);
        var capacity = Math.Max(sizeHint, DefaultCapacity);
        if (Pool.Rent() is { } writer)
        {
            writer.Reset(capacity, MaxRetainedBytes);
            return writer;
        }

        return new ContiguousBufferWriter(capacity, Arrays);
    }

    public static void Return(ContiguousBufferWriter buffer)
    {
        Interlocked.Decrement(ref _outstanding);
        if (buffer.Capacity > MaxRetainedBytes)
        {
            buffer.Reset(DefaultCapacity, MaxRetainedBytes); // the large array goes back to the pool now
        }
        else
        {
            buffer.Clear();
        }

        if (!Pool.Return(buffer))
        {
            buffer.Dispose(); // beyond the pool's capacity: its array goes back to the array pool
        }
    }
}
