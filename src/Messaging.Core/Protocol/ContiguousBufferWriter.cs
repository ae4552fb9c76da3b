using System.Buffers;
using Messaging.Buffers;

namespace Messaging.Protocol;

/// <summary>
/// A growable <see cref="IContiguousBufferWriter"/> over arrays rented from an <see cref="ArrayPool{T}"/>
/// (<see cref="ArrayPool{T}.Shared"/> unless given another).
/// The writer owns its array: <see cref="Dispose"/> returns it to the pool, after which the written bytes must not be used.
/// </summary>
internal sealed class ContiguousBufferWriter : IContiguousBufferWriter, IDisposable
{
    private readonly ArrayPool<byte> _pool;
    private GrowableBuffer<ArrayPoolSource> _buffer; // mutable struct: used in place, never copied
    private bool _disposed;

    /// <summary>Creates a writer with at least <paramref name="initialCapacity"/> bytes of room.</summary>
    /// <param name="initialCapacity">The initial capacity in bytes.</param>
    public ContiguousBufferWriter(int initialCapacity = 4096)
        : this(initialCapacity, ArrayPool<byte>.Shared)
    {
    }

    /// <summary>Creates a writer with at least <paramref name="initialCapacity"/> bytes of room, whose arrays come from <paramref name="pool"/>.</summary>
    /// <param name="initialCapacity">The initial capacity in bytes.</param>
    /// <param name="pool">Where the writer rents its arrays and returns them.</param>
    public ContiguousBufferWriter(int initialCapacity, ArrayPool<byte> pool)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(initialCapacity);
        ArgumentNullException.ThrowIfNull(pool);
        _pool = pool;

        // Nothing points into an array the writer outgrows, so growing returns it to the pool at once.
        _buffer = new GrowableBuffer<ArrayPoolSource>(new ArrayPoolSource(pool, returnsReplaced: true), pool.Rent(Math.Max(initialCapacity, 256)));
    }

    /// <inheritdoc/>
    public int WrittenCount => _buffer.WrittenCount;

    /// <summary>The size of the buffer currently held (what a pool would retain).</summary>
    public int Capacity => _buffer.Capacity;

    /// <inheritdoc/>
    public Span<byte> WrittenSpan => _buffer.WrittenSpan;

    /// <summary>The committed bytes as memory (valid until the next <c>GetSpan</c>/<c>GetMemory</c>, <see cref="Clear"/> or <see cref="Dispose"/>).</summary>
    public ReadOnlyMemory<byte> WrittenMemory => _buffer.WrittenMemory;

    /// <summary>Forgets the written bytes, keeping the array for reuse.</summary>
    public void Clear() => _buffer.Clear();

    /// <summary>
    /// Forgets the written bytes and makes sure the writer holds between <paramref name="minimumCapacity"/> and
    /// <paramref name="maximumCapacity"/> bytes: an array outside that range goes back to the pool and one of the
    /// right size is rented (so a pooled writer neither hoards a large array nor grows by copying).
    /// </summary>
    /// <param name="minimumCapacity">The room the next use needs.</param>
    /// <param name="maximumCapacity">The most the writer may keep; at least <paramref name="minimumCapacity"/> is always kept.</param>
    public void Reset(int minimumCapacity, int maximumCapacity)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentOutOfRangeException.ThrowIfNegative(minimumCapacity);
        _buffer.Clear();
        int capacity = _buffer.Capacity;
        if (capacity >= minimumCapacity && capacity <= Math.Max(maximumCapacity, minimumCapacity))
        {
            return;
        }

        // Rent first: should it throw, the writer still owns a valid array.
        byte[] next = _pool.Rent(Math.Max(minimumCapacity, 256));
        _pool.Return(_buffer.Detach(out _));
        _buffer.Attach(next);
    }

    /// <inheritdoc/>
    public void Advance(int count) => _buffer.Advance(count);

    /// <inheritdoc/>
    public Memory<byte> GetMemory(int sizeHint = 0) => _buffer.GetMemory(sizeHint);

    /// <inheritdoc/>
    public Span<byte> GetSpan(int sizeHint = 0) => _buffer.GetSpan(sizeHint);

    /// <summary>Returns the array to the pool. Idempotent; the writer holds no array afterwards, so writing throws.</summary>
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _pool.Return(_buffer.Detach(out _));
        }
    }
}
