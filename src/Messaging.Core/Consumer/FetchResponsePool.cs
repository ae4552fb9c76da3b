using Messaging.Buffers;

namespace Messaging.Pools;

/// <summary>
/// The default <see cref="IFetchResponsePool"/>: size classes with bounded retention (<see cref="BucketedPoolOptions"/>),
/// so a consumer reading responses of similar sizes reuses the same few buffers.
/// </summary>
public sealed class FetchResponsePool : IFetchResponsePool
{
    private readonly BucketedArrayPool<byte> _pool;

    /// <summary>Creates a pool with its own buckets.</summary>
    /// <param name="options">The settings (read once, now); null for the defaults (<see cref="ConsumerPoolOptions.FetchResponses"/>).</param>
    public FetchResponsePool(BucketedPoolOptions? options = null)
    {
        _pool = new BucketedArrayPool<byte>("fetch-responses", options ?? ConsumerPoolOptions.DefaultFetchResponses());
    }

    /// <summary>The process-wide pool with the default settings, part of <see cref="ConsumerPools.Shared"/>.</summary>
    public static FetchResponsePool Shared { get; } = new();

    /// <summary>The pool's counters (rents, returns, misses, drops, bytes retained).</summary>
    public PoolStatistics Statistics => _pool.Statistics;

    /// <inheritdoc/>
    public byte[] Rent(int length) => _pool.Rent(length);

    /// <inheritdoc/>
    public void Return(byte[] buffer) => _pool.Return(buffer);
}
