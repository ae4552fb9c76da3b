namespace Messaging.Pools;

/// <summary>
/// The consumer's pools: decompression buffers, record objects, record slices (the arrays batches are delivered in)
/// and fetch-response buffers. Each has its knobs; <see cref="Enabled"/> false turns all of them off (every buffer,
/// record and array is allocated and left to the GC, as <see cref="NoPooling"/>); a custom implementation of a
/// pluggable pool replaces the default. Plain settable properties, bindable from <c>IConfiguration</c>
/// (<c>configuration.GetSection("Consumer:Pools").Bind(options.Pools)</c>).
/// </summary>
/// <remarks>
/// With every knob at its default the consumer uses the process-wide shared pools (<see cref="DecompressionBufferPool.Shared"/>,
/// <see cref="RecordPool.Shared"/>, <see cref="RecordSlicePool.Shared"/>), so many consumers share one bounded
/// working set; changed knobs give the consumer pools of its own.
/// </remarks>
public sealed class ConsumerPoolOptions
{
    /// <summary>False turns every pool off (<see cref="NoPooling"/>). Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Knobs of the default decompression-buffer pool, in bytes. Defaults: buckets 64 KiB to 16 MiB, 16 per bucket, 64 MiB retained.</summary>
    public BufferPoolOptions DecompressionBuffers { get; set; } = DefaultDecompressionBuffers();

    /// <summary>Knobs of the default record-slice pool, in records. Defaults: buckets 16 to 65,536 records, 32 per bucket, 16 MiB retained.</summary>
    public BufferPoolOptions RecordSlices { get; set; } = DefaultRecordSlices();

    /// <summary>Knobs of the default record-object pool. Default: 65,536 retained.</summary>
    public RecordPoolOptions Records { get; set; } = new();

    /// <summary>
    /// Knobs of the fetch-response buffer pool (whole Fetch responses, which records point into until recycled), in
    /// bytes. Defaults: buckets 64 KiB to 128 MiB, 32 per bucket, 256 MiB retained — enough for the default
    /// <see cref="KafkaConsumerOptions.MaxBufferedBytes"/> (64 MiB) plus a 50 MiB response in flight, with room
    /// for a second consumer.
    /// </summary>
    public BufferPoolOptions FetchResponses { get; set; } = DefaultFetchResponses();

    /// <summary>A custom decompression-buffer pool used instead of the default; null for the default.</summary>
    public IDecompressionBufferPool? DecompressionBufferPool { get; set; }

    /// <summary>A custom record-object pool used instead of the default; null for the default.</summary>
    public IRecordPool? RecordPool { get; set; }

    /// <summary>A custom record-slice pool used instead of the default; null for the default.</summary>
    public IRecordSlicePool? RecordSlicePool { get; set; }

    /// <summary>Checks every knob; throws <see cref="ArgumentException"/> naming the first that is wrong.</summary>
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

    internal ConsumerPoolOptions Snapshot()
    {
        var copy = (ConsumerPoolOptions)MemberwiseClone();
        copy.DecompressionBuffers = DecompressionBuffers.Clone();
        copy.RecordSlices = RecordSlices.Clone();
        copy.Records = Records.Clone();
        copy.FetchResponses = FetchResponses.Clone();
        return copy;
    }

    internal static BufferPoolOptions DefaultDecompressionBuffers() => new()
    {
        MinBucketSize = 64 * 1024,
        MaxBucketSize = 16 * 1024 * 1024,
        MaxRetainedPerBucket = 16,
        MaxRetainedBytes = 64L * 1024 * 1024,
    };

    internal static BufferPoolOptions DefaultRecordSlices() => new()
    {
        MinBucketSize = 16,
        MaxBucketSize = 65_536,
        MaxRetainedPerBucket = 32,
        MaxRetainedBytes = 16L * 1024 * 1024,
    };

    internal static BufferPoolOptions DefaultFetchResponses() => new()
    {
        MinBucketSize = 64 * 1024,
        MaxBucketSize = 128 * 1024 * 1024,
        MaxRetainedPerBucket = 32,
        MaxRetainedBytes = 256L * 1024 * 1024,
    };

    internal static bool SameKnobs(BufferPoolOptions a, BufferPoolOptions b) =>
        a.Enabled == b.Enabled && a.MinBucketSize == b.MinBucketSize && a.MaxBucketSize == b.MaxBucketSize &&
        a.MaxRetainedPerBucket == b.MaxRetainedPerBucket && a.MaxRetainedBytes == b.MaxRetainedBytes;
}
