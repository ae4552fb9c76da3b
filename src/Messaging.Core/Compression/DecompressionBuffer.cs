using System.Buffers;
using Messaging.Buffers;

namespace Messaging.Compression;

/// <summary>
/// A growable <see cref="IDecompressionBuffer"/> over an array rented from <see cref="ArrayPool{T}.Shared"/>: reuse one
/// per consumer fetch (call <see cref="Reset"/> once every record decoded into it is no longer needed) and decompression
/// allocates nothing once it has grown to the largest batch.
/// </summary>
/// <remarks>
/// <para>Ownership: the buffer owns its current array and returns it to the pool on <see cref="Dispose"/>. When it grows
/// it copies into a larger rented array and deliberately does not return the old one to the pool (the garbage collector
/// reclaims it once no record points into it), so records decoded before the growth stay valid. After
/// <see cref="Reset"/> or <see cref="Dispose"/>, records decoded into the buffer must no longer be used.</para>
/// <para>Not thread-safe.</para>
/// </remarks>
internal sealed class DecompressionBuffer : IDecompressionBuffer, IDisposable
{
    private byte[] _buffer;
    private int _written;
    private bool _disposed;

    /// <summary>Creates a buffer with at least <paramref name="initialCapacity"/> bytes of room.</summary>
    /// <param name="initialCapacity">The initial capacity in bytes.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="initialCapacity"/> is negative.</exception>
    public DecompressionBuffer(int initialCapacity = 64 * 1024)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(initialCapacity);
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(initialCapacity, 256));
    }

    /// <inheritdoc/>
    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    /// <summary>The number of bytes written since the last <see cref="Reset"/>.</summary>
    public int WrittenCount => _written;

    /// <summary>The size of the current array.</summary>
    public int Capacity => _buffer.Length;

    /// <summary>Forgets the written bytes, keeping the array. Records decoded into the buffer become invalid.</summary>
    public void Reset() => _written = 0;

    /// <inheritdoc/>
    public void Advance(int count) => GrowableBuffer.Advance(_buffer.Length, ref _written, count);

    /// <inheritdoc/>
    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    /// <inheritdoc/>
    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    /// <summary>Returns the array to the pool. Idempotent; the buffer must not be used afterwards.</summary>
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            byte[] buffer = _buffer;
            _buffer = [];
            _written = 0;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Ensure(int sizeHint)
    {
        var size = GrowableBuffer.NextSize(_buffer.Length, _written, sizeHint);
        if (size == 0)
        {
            return;
        }

        ObjectDisposedException.ThrowIf(_disposed, this);
        byte[] next = ArrayPool<byte>.Shared.Rent(size);
        _buffer.AsSpan(0, _written).CopyTo(next);
        _buffer = next; // the old array is left to the GC: records decoded into it may still be in use
    }
}
