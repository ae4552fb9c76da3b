using Messaging.Pools;

namespace Messaging.Consumer;

/// <summary>The pools one consumer uses, resolved once from its options: custom, shared defaults, own defaults, or none.</summary>
internal sealed class ConsumerPools
{
    private ConsumerPools(IDecompressionBufferPool decompression, IRecordPool records, IRecordSlicePool slices, ResponseBufferPool responses)
    {
        DecompressionBuffers = decompression;
        Records = records;
        RecordSlices = slices;
        Responses = responses;
    }

    public IDecompressionBufferPool DecompressionBuffers { get; }

    public IRecordPool Records { get; }

    public IRecordSlicePool RecordSlices { get; }

    public ResponseBufferPool Responses { get; }

    public static ConsumerPools Create(KafkaConsumerOptions options)
    {
        var pools = options.Pools;

        // A response may exceed fetch.max.bytes by one batch (KIP-74); beyond that the read loop's default path applies.
        long trusted = (long)options.FetchMaxBytes + 2L * Math.Max(options.MaxPartitionFetchBytes, 1024 * 1024) + 64 * 1024;
        int maxTrusted = (int)Math.Min(trusted, options.MaxResponseBytes);
        if (!pools.Enabled)
        {
            var off = new BufferPoolOptions { Enabled = false, MinBucketSize = 1, MaxBucketSize = 1, MaxRetainedPerBucket = 0, MaxRetainedBytes = 0 };
            return new ConsumerPools(
                pools.DecompressionBufferPool ?? NoPooling.DecompressionBuffers,
                pools.RecordPool ?? NoPooling.Records,
                pools.RecordSlicePool ?? NoPooling.RecordSlices,
                new ResponseBufferPool(off, maxTrusted));
        }

        var decompression = pools.DecompressionBufferPool
            ?? (ConsumerPoolOptions.SameKnobs(pools.DecompressionBuffers, ConsumerPoolOptions.DefaultDecompressionBuffers())
                ? DecompressionBufferPool.Shared
                : new DecompressionBufferPool(pools.DecompressionBuffers.Clone()));
        var slices = pools.RecordSlicePool
            ?? (ConsumerPoolOptions.SameKnobs(pools.RecordSlices, ConsumerPoolOptions.DefaultRecordSlices())
                ? RecordSlicePool.Shared
                : new RecordSlicePool(pools.RecordSlices.Clone()));
        var records = pools.RecordPool
            ?? (pools.Records.Enabled && pools.Records.MaxRetained == new RecordPoolOptions().MaxRetained
                ? RecordPool.Shared
                : new RecordPool(pools.Records.Clone()));
        var responses = new ResponseBufferPool(
            ConsumerPoolOptions.SameKnobs(pools.FetchResponses, ConsumerPoolOptions.DefaultFetchResponses()) ? null : pools.FetchResponses.Clone(),
            maxTrusted);
        return new ConsumerPools(decompression, records, slices, responses);
    }
}
