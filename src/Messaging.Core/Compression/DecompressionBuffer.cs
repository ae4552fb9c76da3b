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
    private GrowableBuffer<ArrayPoolSource> _buffer; // mutable struct: used in place, never copied
    private bool _disposed;

    /// <summary>Creates a buffer with at least <paramref name="initialCapacity"/> bytes of room.</summary>
    /// <param name="initialCapacity">The initial capacity in bytes.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="initialCapacity"/> is negative.</exception>
    public DecompressionBuffer(int initialCapacity = 64 * 1024)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(initialCapacity);

        // An outgrown array is left to the GC, not returned: records decoded into it may still be in use.
        _buffer = new GrowableBuffer<ArrayPoolSource>(
            new ArrayPoolSource(ArrayPool<byte>.Shared, returnsReplaced: false), ArrayPool<byte>.Shared.Rent(Math.Max(initialCapacity, 256)));
    }

    /// <inheritdoc/>
    public ReadOnlyMemory<byte> WrittenMemory => _buffer.WrittenMemory;

    /// <summary>The number of bytes written since the last <see cref="Reset"/>.</summary>
    public int WrittenCount => _buffer.WrittenCount;

    /// <summary>The size of the current array.</summary>
    public int Capacity => _buffer.Capacity;

    /// <summary>Forgets the written bytes, keeping the array. Records decoded into the buffer become invalid.</summary>
    public void Reset() => _buffer.Clear();

    /// <inheritdoc/>
    public void Advance(int count) => _buffer.Advance(count);

    /// <inheritdoc/>
    public Memory<byte> GetMemory(int sizeHint = 0) => _buffer.GetMemory(sizeHint);

    /// <inheritdoc/>
    public Span<byte> GetSpan(int sizeHint = 0) => _buffer.GetSpan(sizeHint);

    /// <summary>Returns the array to the pool. Idempotent; the buffer holds no array afterwards, so writing throws.</summary>
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            ArrayPool<byte>.Shared.Return(_buffer.Detach(out _));
        }
    }
}
