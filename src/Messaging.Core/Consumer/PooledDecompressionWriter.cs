using Messaging.Buffers;
using Messaging.Compression;
using Messaging.Pools;

namespace Messaging.Consumer;

/// <summary>
/// The <see cref="IDecompressionBuffer"/> one compressed batch is decompressed into: a buffer from the consumer's
/// <see cref="IDecompressionBufferPool"/>, exchanged for a larger one through <see cref="IDecompressionBufferPool.Grow"/>
/// when the data does not fit (never beyond the decompression limit plus the codec's last request). One per consumer,
/// reused batch after batch; <see cref="Detach"/> hands the filled buffer over.
/// </summary>
internal sealed class PooledDecompressionWriter : IDecompressionBuffer
{
    private readonly IDecompressionBufferPool _pool;
    private readonly int _limit;
    private byte[]? _buffer;
    private int _written;

    public PooledDecompressionWriter(IDecompressionBufferPool pool, int limit)
    {
        _pool = pool;
        _limit = limit;
    }

    public IDecompressionBufferPool Pool => _pool;

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    /// <summary>Rents the first buffer for a batch of <paramref name="compressedSize"/> compressed bytes.</summary>
    public void Start(int compressedSize, CompressionType codec)
    {
        if (_buffer is not null)
        {
            throw new InvalidOperationException("The previous batch's buffer was neither detached nor abandoned.");
        }

        _buffer = _pool.Rent(compressedSize, codec);
        if (_buffer is null || _buffer.Length == 0)
        {
            throw new InvalidOperationException("The decompression-buffer pool returned an empty buffer.");
        }

        _written = 0;
    }

    /// <summary>Hands the filled buffer over (to a <see cref="SharedBuffer"/>); the writer holds nothing afterwards.</summary>
    public byte[] Detach(out int length)
    {
        var buffer = _buffer ?? throw new InvalidOperationException("No batch was started.");
        length = _written;
        _buffer = null;
        _written = 0;
        return buffer;
    }

    /// <summary>Gives the buffer back after a failure (nothing points into it).</summary>
    public void Abandon()
    {
        var buffer = _buffer;
        _buffer = null;
        _written = 0;
        if (buffer is not null)
        {
            _pool.Return(buffer);
        }
    }

    public void Advance(int count)
    {
        var buffer = _buffer ?? throw new InvalidOperationException("No batch was started.");
        GrowableBuffer.Advance(buffer.Length, ref _written, count);
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    private void Ensure(int sizeHint)
    {
        var buffer = _buffer ?? throw new InvalidOperationException("No batch was started.");
        var size = GrowableBuffer.NextSize(buffer.Length, _written, sizeHint, doublingCap: _limit);
        if (size == 0)
        {
            return;
        }

        _buffer = _pool.Grow(buffer, _written, size);
        if (_buffer.Length < _written + Math.Max(sizeHint, 1))
        {
            throw new InvalidOperationException("The decompression-buffer pool grew a buffer less than asked for.");
        }
    }
}
