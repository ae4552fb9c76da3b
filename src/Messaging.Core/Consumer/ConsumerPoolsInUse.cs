using Messaging.Connection;
using Messaging.Pools;

namespace Messaging.Consumer;

/// <summary>
/// The pools one consumer uses: the <see cref="ConsumerPools"/> of its options, and its view of the fetch-response
/// pool bounded by its own fetch limits (see <see cref="ResponseBufferPool"/>).
/// </summary>
internal sealed class ConsumerPoolsInUse
{
    private ConsumerPoolsInUse(ConsumerPools pools, ResponseBufferPool responses)
    {
        Pools = pools;
        Responses = responses;
    }

    /// <summary>The pools as configured.</summary>
    public ConsumerPools Pools { get; }

    public IDecompressionBufferPool DecompressionBuffers => Pools.DecompressionBuffers;

    public IRecordPool Records => Pools.Records;

    public IRecordSlicePool RecordSlices => Pools.RecordSlices;

    /// <summary>The fetch-response pool as the connection's read loop asks it (sizes beyond the fetch limits refused).</summary>
    public IResponseBufferPool Responses { get; }

    public static ConsumerPoolsInUse Create(KafkaConsumerOptions options)
    {
        // A response may exceed fetch.max.bytes by one batch (KIP-74); beyond that the read loop's default path applies.
        long trusted = (long)options.FetchMaxBytes + 2L * Math.Max(options.MaxPartitionFetchBytes, 1024 * 1024) + 64 * 1024;
        int maxTrusted = (int)Math.Min(trusted, options.MaxResponseBytes);
        return new ConsumerPoolsInUse(options.Pools, new ResponseBufferPool(options.Pools.FetchResponses, maxTrusted));
    }
}
