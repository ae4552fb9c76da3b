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
    private GrowableBuffer<PoolSource> _buffer; // mutable struct: used in place, never copied; holds no array between batches

    public PooledDecompressionWriter(IDecompressionBufferPool pool, int limit)
    {
        _pool = pool;
        _limit = limit;
        _buffer = new GrowableBuffer<PoolSource>(new PoolSource(pool), [], doublingCap: limit);
    }

    public IDecompressionBufferPool Pool => _pool;

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.WrittenMemory;

    /// <summary>Rents the first buffer for a batch of <paramref name="compressedSize"/> compressed bytes, no larger than the decompression limit.</summary>
    public void Start(int compressedSize, CompressionType codec)
    {
        if (_buffer.HoldsArray)
        {
            throw new InvalidOperationException("The previous batch's buffer was neither detached nor abandoned.");
        }

        var buffer = _pool.Rent(compressedSize, codec, _limit);
        if (buffer is null || buffer.Length == 0)
        {
            throw new InvalidOperationException("The decompression-buffer pool returned an empty buffer.");
        }

        _buffer.Attach(buffer);
    }

    /// <summary>Hands the filled buffer over (to a <see cref="SharedBuffer"/>); the writer holds nothing afterwards.</summary>
    public byte[] Detach(out int length)
    {
        if (!_buffer.HoldsArray)
        {
            throw new InvalidOperationException("No batch was started.");
        }

        return _buffer.Detach(out length);
    }

    /// <summary>Gives the buffer back after a failure (nothing points into it).</summary>
    public void Abandon()
    {
        if (_buffer.HoldsArray)
        {
            _pool.Return(_buffer.Detach(out _));
        }
    }

    public void Advance(int count) => _buffer.Advance(count);

    public Memory<byte> GetMemory(int sizeHint = 0) => _buffer.GetMemory(sizeHint);

    public Span<byte> GetSpan(int sizeHint = 0) => _buffer.GetSpan(sizeHint);

    /// <summary>Grows through the pool, which carries the written bytes over and takes the smaller buffer back at once (nothing points into it yet).</summary>
    private readonly struct PoolSource(IDecompressionBufferPool pool) : IGrowableArraySource
    {
        public byte[] Grow(byte[] current, int used, int minimumLength) => pool.Grow(current, used, minimumLength);
    }
}
