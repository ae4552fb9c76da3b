using Microsoft.IO;

namespace Messaging.Rpc;

/// <summary>
/// The pooled streams request and reply payloads are encoded into (one <c>RecyclableMemoryStreamManager</c> per RPC
/// client or server). Small payloads use blocks of <see cref="BlockSize"/>; a payload that needs one contiguous buffer
/// larger than a block gets a large buffer, a multiple of <see cref="LargeBufferMultiple"/> up to
/// <see cref="MaximumBufferSize"/>. Freed blocks and buffers stay pooled up to the free-byte limits, beyond which they
/// are left to the GC. Plain settable properties, bindable from configuration.
/// </summary>
public sealed class RpcPoolOptions
{
    /// <summary>The size of a small-pool block in bytes, 256 to <see cref="MaximumBufferSize"/>. Default 16 KiB.</summary>
    public int BlockSize { get; set; } = 16 * 1024;

    /// <summary>Large buffers are a multiple of this many bytes (or powers of two of it with <see cref="UseExponentialLargeBuffer"/>). Default 256 KiB.</summary>
    public int LargeBufferMultiple { get; set; } = 256 * 1024;

    /// <summary>
    /// The largest buffer kept in the large pool, in bytes; larger ones are allocated and dropped. A multiple of
    /// <see cref="LargeBufferMultiple"/> (with <see cref="UseExponentialLargeBuffer"/>: it times a power of two). Default 8 MiB.
    /// </summary>
    public int MaximumBufferSize { get; set; } = 8 * 1024 * 1024;

    /// <summary>Whether large buffers grow by powers of two of <see cref="LargeBufferMultiple"/> rather than linearly. Default false.</summary>
    public bool UseExponentialLargeBuffer { get; set; }

    /// <summary>The most bytes of free small blocks kept pooled. Default 4 MiB.</summary>
    public long MaximumSmallPoolFreeBytes { get; set; } = 4L * 1024 * 1024;

    /// <summary>The most bytes of free large buffers kept pooled. Default 16 MiB.</summary>
    public long MaximumLargePoolFreeBytes { get; set; } = 16L * 1024 * 1024;

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(BlockSize, 256, nameof(BlockSize));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(BlockSize, MaximumBufferSize, nameof(BlockSize)); // the stream manager refuses it
        ArgumentOutOfRangeException.ThrowIfLessThan(LargeBufferMultiple, 1, nameof(LargeBufferMultiple));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaximumBufferSize, LargeBufferMultiple, nameof(MaximumBufferSize));
        ArgumentOutOfRangeException.ThrowIfNegative(MaximumSmallPoolFreeBytes, nameof(MaximumSmallPoolFreeBytes));
        ArgumentOutOfRangeException.ThrowIfNegative(MaximumLargePoolFreeBytes, nameof(MaximumLargePoolFreeBytes));
        if (!UseExponentialLargeBuffer && MaximumBufferSize % LargeBufferMultiple != 0)
        {
            throw new ArgumentException("MaximumBufferSize must be a multiple of LargeBufferMultiple (or set UseExponentialLargeBuffer).", nameof(MaximumBufferSize));
        }

        if (UseExponentialLargeBuffer && !System.Numerics.BitOperations.IsPow2(MaximumBufferSize / LargeBufferMultiple))
        {
            throw new ArgumentException("With UseExponentialLargeBuffer, MaximumBufferSize must be LargeBufferMultiple times a power of two.", nameof(MaximumBufferSize));
        }
    }

    internal RecyclableMemoryStreamManager CreateManager() => new(new RecyclableMemoryStreamManager.Options
    {
        BlockSize = BlockSize,
        LargeBufferMultiple = LargeBufferMultiple,
        MaximumBufferSize = MaximumBufferSize,
        UseExponentialLargeBuffer = UseExponentialLargeBuffer,
        MaximumSmallPoolFreeBytes = MaximumSmallPoolFreeBytes,
        MaximumLargePoolFreeBytes = MaximumLargePoolFreeBytes,
    });
}
