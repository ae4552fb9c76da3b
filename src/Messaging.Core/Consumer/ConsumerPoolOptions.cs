namespace Messaging.Pools;

/// <summary>
/// The settings of a consumer's own pools, the input of <see cref="ConsumerPools.Create"/>: one set of knobs per
/// default pool. Plain settable properties, bindable from <c>IConfiguration</c>
/// (<c>options.Pools = ConsumerPools.Create(configuration.GetSection("Consumer:Pools").Get&lt;ConsumerPoolOptions&gt;()!)</c>).
/// </summary>
/// <remarks>
/// These settings are only read by <see cref="ConsumerPools.Create"/>: a consumer uses the pools in
/// <see cref="KafkaConsumerOptions.Pools"/>, which are <see cref="ConsumerPools.Shared"/> unless set. The defaults
/// here are the settings of the shared pools.
/// </remarks>
public sealed class ConsumerPoolOptions
{
    /// <summary>The decompression-buffer pool's settings, in bytes. Defaults: buckets 64 KiB to 16 MiB, 16 per bucket, 64 MiB retained.</summary>
    public BucketedPoolOptions DecompressionBuffers { get; set; } = DefaultDecompressionBuffers();

    /// <summary>The record-slice pool's settings, in records. Defaults: buckets 16 to 65,536 records, 32 per bucket, 16 MiB retained.</summary>
    public BucketedPoolOptions RecordSlices { get; set; } = DefaultRecordSlices();

    /// <summary>The record-object pool's settings. Default: 65,536 retained.</summary>
    public RecordPoolOptions Records { get; set; } = new();

    /// <summary>
    /// The fetch-response pool's settings (whole Fetch responses, which records point into until recycled), in bytes.
    /// Defaults: buckets 64 KiB to 128 MiB, 32 per bucket, 256 MiB retained — enough for the default
    /// <see cref="KafkaConsumerOptions.MaxBufferedBytes"/> (64 MiB) plus a 50 MiB response in flight, with room for a
    /// second consumer.
    /// </summary>
    public BucketedPoolOptions FetchResponses { get; set; } = DefaultFetchResponses();

    /// <summary>Checks every setting; throws <see cref="ArgumentException"/> naming the first that is wrong.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(DecompressionBuffers, nameof(DecompressionBuffers));
        ArgumentNullException.ThrowIfNull(RecordSlices, nameof(RecordSlices));
        ArgumentNullException.ThrowIfNull(Records, nameof(Records));
        ArgumentNullException.ThrowIfNull(FetchResponses, nameof(FetchResponses));
        DecompressionBuffers.Validate("Pools.DecompressionBuffers");
        RecordSlices.Validate("Pools.RecordSlices");
        Records.Validate("Pools.Records");
        FetchResponses.Validate("Pools.FetchResponses");
    }

    internal static BucketedPoolOptions DefaultDecompressionBuffers() => new()
    {
        MinBucketSize = 64 * 1024,
        MaxBucketSize = 16 * 1024 * 1024,
        MaxRetainedPerBucket = 16,
        MaxRetainedBytes = 64L * 1024 * 1024,
    };

    internal static BucketedPoolOptions DefaultRecordSlices() => new()
    {
        MinBucketSize = 16,
        MaxBucketSize = 65_536,
        MaxRetainedPerBucket = 32,
        MaxRetainedBytes = 16L * 1024 * 1024,
    };

    internal static BucketedPoolOptions DefaultFetchResponses() => new()
    {
        MinBucketSize = 64 * 1024,
        MaxBucketSize = 128 * 1024 * 1024,
        MaxRetainedPerBucket = 32,
        MaxRetainedBytes = 256L * 1024 * 1024,
    };
}
