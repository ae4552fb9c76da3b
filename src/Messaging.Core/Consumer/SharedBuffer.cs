using System.Collections.Concurrent;
using Messaging.Connection;
using Messaging.Pools;

namespace Messaging.Consumer;

/// <summary>
/// A reference-counted owner of bytes that decoded records point into: a Fetch response frame, or one decompressed
/// batch from an <see cref="IDecompressionBufferPool"/>. Whoever keeps a slice of <see cref="Memory"/> holds a
/// reference; the last <see cref="Release"/> disposes the frame or returns the buffer to its pool.
/// </summary>
/// <remarks>
/// Instances are pooled: after the last release the object is reused for other bytes, so a reference must never be
/// used after it was released. Releasing more often than referenced throws <see cref="InvalidOperationException"/>
/// (a bookkeeping bug, caught before it could hand memory out twice).
/// </remarks>
internal sealed class SharedBuffer
{
    private const int MaxPooled = 256;
    private static readonly ConcurrentQueue<SharedBuffer> Pool = new();
    private static int _pooledCount;

    private ResponseFrame _frame;
    private byte[]? _array;
    private IDecompressionBufferPool? _pool;
    private int _refs;

    private SharedBuffer()
    {
    }

    /// <summary>The bytes: the whole frame, or the decompressed bytes.</summary>
    public ReadOnlyMemory<byte> Memory { get; private set; }

    /// <summary>The references held now (for tests).</summary>
    public int References => Volatile.Read(ref _refs);

    /// <summary>Takes ownership of <paramref name="frame"/>, with one reference held by the caller.</summary>
    public static SharedBuffer ForFrame(ResponseFrame frame)
    {
        var buffer = Take();
        buffer._frame = frame;
        buffer.Memory = frame.Memory;
        return buffer;
    }

    /// <summary>Takes ownership of <paramref name="array"/> (from <paramref name="pool"/>) holding <paramref name="length"/> bytes, with one reference held by the caller.</summary>
    public static SharedBuffer ForDecompressed(byte[] array, int length, IDecompressionBufferPool pool)
    {
        var buffer = Take();
        buffer._array = array;
        buffer._pool = pool;
        buffer.Memory = array.AsMemory(0, length);
        return buffer;
    }

    /// <summary>Adds a reference.</summary>
    public void AddReference()
    {
        if (Interlocked.Increment(ref _refs) <= 1)
        {
            throw new InvalidOperationException("A released buffer was referenced again.");
        }
    }

    /// <summary>Drops a reference; the last one frees the bytes.</summary>
    public void Release()
    {
        int left = Interlocked.Decrement(ref _refs);
        if (left > 0)
        {
            return;
        }

        if (left < 0)
        {
            throw new InvalidOperationException("A buffer was released more often than it was referenced.");
        }

        var frame = _frame;
        var array = _array;
        var pool = _pool;
        _frame = default;
        _array = null;
        _pool = null;
        Memory = default;
        if (array is not null)
        {
            pool!.Return(array);
        }
        else
        {
            frame.Dispose();
        }

        if (Interlocked.Increment(ref _pooledCount) <= MaxPooled)
        {
            Pool.Enqueue(this);
        }
        else
        {
            Interlocked.Decrement(ref _pooledCount);
        }
    }

    private static SharedBuffer Take()
    {
        if (Pool.TryDequeue(out var buffer))
        {
            Interlocked.Decrement(ref _pooledCount);
        }
        else
        {
            buffer = new SharedBuffer();
        }

        buffer._refs = 1;
        return buffer;
    }
}
