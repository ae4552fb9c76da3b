using Messaging.Buffers;
using Messaging.Connection;
using Messaging.Pools;

namespace Messaging.Consumer;

/// <summary>
/// The consumer's pool of Fetch-response buffers: the read loop reads a whole response into one buffer from here (no
/// growth copies), records point into it until recycled, and the last release brings it back. Sizes beyond what the
/// consumer's fetch limits allow are refused, so a hostile size prefix falls back to the read loop's grow-as-bytes-arrive path.
/// </summary>
internal sealed class ResponseBufferPool : IResponseBufferPool
{
    private static readonly BucketedArrayPool<byte> SharedBuckets = new("fetch-responses", ConsumerPoolOptions.DefaultFetchResponses());

    private readonly BucketedArrayPool<byte> _buckets;
    private readonly int _maxTrustedBytes;

    public ResponseBufferPool(BufferPoolOptions? options, int maxTrustedBytes)
    {
        _buckets = options is null ? SharedBuckets : new BucketedArrayPool<byte>("fetch-responses", options);
        _maxTrustedBytes = maxTrustedBytes;
    }

    public PoolStatistics Statistics => _buckets.Statistics;

    public byte[]? TryRent(int length) => length <= _maxTrustedBytes ? _buckets.Rent(length) : null;

    public void Return(byte[] buffer) => _buckets.Return(buffer);
}
