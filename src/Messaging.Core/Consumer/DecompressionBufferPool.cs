using Messaging.Buffers;

namespace Messaging.Pools;

/// <summary>
/// The default <see cref="IDecompressionBufferPool"/>: power-of-two buckets with bounded retention
/// (<see cref="BucketedPoolOptions"/>). It guesses four times the compressed size (at least the smallest bucket, at
/// most the consumer's decompression limit when it passes one); a
/// buffer that grows is exchanged for the next bucket up, and the smaller one goes straight back to its bucket.
/// </summary>
public sealed class DecompressionBufferPool : IDecompressionBufferPool
{
    private const int GuessRatio = 4;
    private readonly BucketedArrayPool<byte> _pool;

    /// <summary>Creates a pool with its own buckets.</summary>
    /// <param name="options">The knobs; null for the defaults.</param>
    public DecompressionBufferPool(BucketedPoolOptions? options = null)
    {
        _pool = new BucketedArrayPool<byte>("decompression-buffers", options ?? ConsumerPoolOptions.DefaultDecompressionBuffers());
    }

    /// <summary>The process-wide pool with the default settings, part of <see cref="ConsumerPools.Shared"/>.</summary>
    public static DecompressionBufferPool Shared { get; } = new();

    /// <summary>The pool's counters (rents, returns, misses, drops, bytes retained).</summary>
    public PoolStatistics Statistics => _pool.Statistics;

    /// <inheritdoc/>
    public byte[] Rent(int compressedSize, CompressionType codec) => Rent(compressedSize, codec, Array.MaxLength);

    /// <inheritdoc/>
    public byte[] Rent(int compressedSize, CompressionType codec, int maxLength) =>
        _pool.Rent((int)Math.Clamp((long)Math.Max(compressedSize, 1) * GuessRatio, 1, Math.Max(maxLength, 1)));

    /// <inheritdoc/>
    public byte[] Grow(byte[] buffer, int usedLength, int minimumLength)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)usedLength, (uint)buffer.Length, nameof(usedLength));
        byte[] larger = _pool.Rent(Math.Max(minimumLength, usedLength));
        buffer.AsSpan(0, usedLength).CopyTo(larger);
        _pool.Return(buffer);
        return larger;
    }

    /// <inheritdoc/>
    public void Return(byte[] buffer) => _pool.Return(buffer);
}
