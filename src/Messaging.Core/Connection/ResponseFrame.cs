using System.Buffers;

namespace Messaging.Connection;

/// <summary>
/// One response as it came off the wire, without its 4-byte size prefix: the response header followed by the body.
/// </summary>
/// <remarks>
/// Ownership: the buffer is rented from <see cref="ArrayPool{T}.Shared"/> by the connection's read loop and handed,
/// with the frame, to exactly one owner — the pending request's awaiter, or the read loop itself when the awaiter
/// is gone. That owner calls <see cref="Dispose"/> once, after the last use of <see cref="Memory"/> (decoded
/// <c>bytes</c>/<c>records</c> fields are slices of it). A default frame owns nothing. A request that brought its own
/// <see cref="IResponseBufferPool"/> gets a frame whose buffer came from, and goes back to, that pool.
/// </remarks>
internal readonly struct ResponseFrame : IDisposable
{
    private readonly byte[]? _buffer;
    private readonly IResponseBufferPool? _pool;
    private readonly int _length;

    private ResponseFrame(byte[] buffer, int length, IResponseBufferPool? pool)
    {
        _buffer = buffer;
        _length = length;
        _pool = pool;
    }

    /// <summary>The frame's bytes: response header, then body.</summary>
    public ReadOnlyMemory<byte> Memory => _buffer is null ? default : _buffer.AsMemory(0, _length);

    /// <summary>The frame's length in bytes.</summary>
    public int Length => _length;

    /// <summary>Frames larger than this are not returned to the shared pool, so one huge response is not retained for good.</summary>
    public const int MaxPooledBytes = 1024 * 1024;

    private static long _outstanding;

    /// <summary>Frames handed out and not yet disposed, process-wide: zero when every response buffer came back (leak tests).</summary>
    public static long Outstanding => Volatile.Read(ref _outstanding);

    /// <summary>Takes ownership of a buffer rented from <see cref="ArrayPool{T}.Shared"/> holding a frame of <paramref name="length"/> bytes.</summary>
    public static ResponseFrame Wrap(byte[] buffer, int length) => Wrap(buffer, length, null);

    /// <summary>Takes ownership of a buffer rented from <paramref name="pool"/> (or the shared pool when null); disposing the frame returns it there.</summary>
    public static ResponseFrame Wrap(byte[] buffer, int length, IResponseBufferPool? pool)
    {
        Interlocked.Increment(ref _outstanding);
        return new(buffer, length, pool);
    }

    /// <summary>Returns the buffer to the pool it came from (or leaves a large shared-pool one to the GC). Call once.</summary>
    public void Dispose()
    {
        if (_buffer is null)
        {
            return;
        }

        Interlocked.Decrement(ref _outstanding);
        if (_pool is not null)
        {
            _pool.Return(_buffer);
        }
        else
        {
            ReturnShared(_buffer);
        }
    }

    /// <summary>
    /// Gives a buffer rented from <see cref="ArrayPool{T}.Shared"/> back to it, unless it is larger than
    /// <see cref="MaxPooledBytes"/>: the shared pool keeps arrays of up to a gigabyte, so every large buffer returned
    /// (a huge response's, or one it outgrew while being read) would stay reachable there.
    /// </summary>
    public static void ReturnShared(byte[] buffer)
    {
        if (buffer.Length <= MaxPooledBytes)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
