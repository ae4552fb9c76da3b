using Messaging.Pools;

namespace Messaging;

/// <summary>
/// The consumer's settings, named after Kafka's documented consumer configuration (each property's doc names the
/// Kafka setting), with durations as <see cref="TimeSpan"/>s and Kafka's defaults. Plain settable properties, so
/// <c>configuration.GetSection("Consumer").Bind(options)</c> fills them from <c>IConfiguration</c>. Validated once when
/// the consumer is built; changing the object afterwards has no effect on a running consumer.
/// </summary>
public sealed class KafkaConsumerOptions : KafkaClientOptions
{
    /// <summary><c>fetch.min.bytes</c>: the least data the broker gathers before answering a Fetch (or <see cref="FetchMaxWait"/> passes). Default 1.</summary>
    public int FetchMinBytes { get; set; } = 1;

    /// <summary><c>fetch.max.wait.ms</c>: how long the broker may hold a Fetch waiting for <see cref="FetchMinBytes"/>. Default 500 ms.</summary>
    public TimeSpan FetchMaxWait { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// <c>fetch.max.bytes</c>: the most data one Fetch response should carry (soft: a first batch larger than this is
    /// still returned, so the consumer always makes progress). Default 52,428,800 (50 MiB).
    /// </summary>
    public int FetchMaxBytes { get; set; } = 50 * 1024 * 1024;

    /// <summary><c>max.partition.fetch.bytes</c>: the most data per partition in one Fetch response (soft, as <see cref="FetchMaxBytes"/>). Default 1,048,576 (1 MiB).</summary>
    public int MaxPartitionFetchBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// <c>isolation.level</c>: <see cref="IsolationLevel.ReadUncommitted"/> shows every record;
    /// <see cref="IsolationLevel.ReadCommitted"/> reads up to the last stable offset and hides records of aborted
    /// transactions. Control records (transaction markers) are never shown. Default read_uncommitted.
    /// </summary>
    public IsolationLevel IsolationLevel { get; set; } = IsolationLevel.ReadUncommitted;

    /// <summary>
    /// <c>check.crcs</c>: verify every batch's CRC-32C. A mismatch raises a <see cref="ConsumeException"/> naming the
    /// partition and offset, and the position does not move past the batch. Default true.
    /// </summary>
    public bool CheckCrcs { get; set; } = true;

    /// <summary><c>auto.offset.reset</c>: what to do when the position is out of the log's range. Default <see cref="AutoOffsetReset.Latest"/>.</summary>
    public AutoOffsetReset AutoOffsetReset { get; set; } = AutoOffsetReset.Latest;

    /// <summary>
    /// The most fetched bytes buffered ahead of the application (librdkafka's <c>queued.max.messages.kbytes</c>): one
    /// Fetch per broker is in flight while the application reads earlier responses, and fetching pauses while this
    /// much is waiting. A response can overshoot it by up to <see cref="FetchMaxBytes"/>. Default 64 MiB.
    /// </summary>
    public long MaxBufferedBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary><c>max.poll.records</c>: the most records in one batch from <c>ConsumeBatchAsync</c>. Default 500.</summary>
    public int MaxPollRecords { get; set; } = 500;

    /// <summary><c>retry.backoff.ms</c>: the wait before fetching again from a broker or partition that failed. Default 100 ms.</summary>
    public TimeSpan RetryBackoff { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary><c>client.rack</c>: the consumer's rack, sent with every Fetch (KIP-392). Default empty.</summary>
    public string ClientRack { get; set; } = "";

    /// <summary>The most bytes one compressed batch may decompress to; more is reported as corrupt (a decompression bomb). Default 128 MiB.</summary>
    public int MaxDecompressedBatchBytes { get; set; } = 128 * 1024 * 1024;

    /// <summary>
    /// Whether to use incremental fetch sessions (KIP-227) where the broker supports them: after a full Fetch, only
    /// partitions whose fetch position changed are sent. Default true.
    /// </summary>
    public bool FetchSessions { get; set; } = true;

    /// <summary>
    /// The pools the consumer takes its memory from. Default <see cref="ConsumerPools.Shared"/>, the process-wide
    /// pools; <see cref="ConsumerPools.None"/> turns pooling off, <see cref="ConsumerPools.Create"/> builds pools of
    /// the consumer's own from settings, and the <see cref="ConsumerPools"/> constructor plugs in custom ones.
    /// </summary>
    public ConsumerPools Pools { get; set; } = ConsumerPools.Shared;

    /// <summary>A copy the consumer keeps, so later changes to this object do not reach it (the pools are immutable and shared).</summary>
    internal KafkaConsumerOptions Snapshot() => (KafkaConsumerOptions)MemberwiseClone();

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        if (FetchMinBytes < 0)
        {
            throw new ArgumentException("FetchMinBytes (fetch.min.bytes) must not be negative.", nameof(FetchMinBytes));
        }

        if (FetchMaxWait < TimeSpan.Zero || FetchMaxWait > TimeSpan.FromMilliseconds(int.MaxValue))
        {
            throw new ArgumentException("FetchMaxWait (fetch.max.wait.ms) must be between 0 and int.MaxValue ms.", nameof(FetchMaxWait));
        }

        if (FetchMaxBytes < 1)
        {
            throw new ArgumentException("FetchMaxBytes (fetch.max.bytes) must be positive.", nameof(FetchMaxBytes));
        }

        if (MaxPartitionFetchBytes < 1)
        {
            throw new ArgumentException("MaxPartitionFetchBytes (max.partition.fetch.bytes) must be positive.", nameof(MaxPartitionFetchBytes));
        }

        if (!Enum.IsDefined(IsolationLevel))
        {
            throw new ArgumentException("IsolationLevel (isolation.level) must be ReadUncommitted or ReadCommitted.", nameof(IsolationLevel));
        }

        if (!Enum.IsDefined(AutoOffsetReset))
        {
            throw new ArgumentException("AutoOffsetReset (auto.offset.reset) must be Latest, Earliest or Error.", nameof(AutoOffsetReset));
        }

        if (MaxBufferedBytes < 1)
        {
            throw new ArgumentException("MaxBufferedBytes must be positive.", nameof(MaxBufferedBytes));
        }

        if (MaxPollRecords < 1 || MaxPollRecords > 1 << 20)
        {
            throw new ArgumentException("MaxPollRecords (max.poll.records) must be between 1 and 1,048,576.", nameof(MaxPollRecords));
        }

        if (RetryBackoff <= TimeSpan.Zero)
        {
            throw new ArgumentException("RetryBackoff (retry.backoff.ms) must be positive.", nameof(RetryBackoff));
        }

        if (MaxDecompressedBatchBytes < 1)
        {
            throw new ArgumentException("MaxDecompressedBatchBytes must be positive.", nameof(MaxDecompressedBatchBytes));
        }

        ArgumentNullException.ThrowIfNull(ClientRack, nameof(ClientRack));
        ArgumentNullException.ThrowIfNull(Pools, nameof(Pools));
    }
}
