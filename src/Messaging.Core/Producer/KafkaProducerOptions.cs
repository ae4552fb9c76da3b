using Messaging.Partitioners;

namespace Messaging;

/// <summary>
/// The producer's settings, named after Kafka's documented producer configuration (the property doc names the
/// Kafka setting), with durations as <see cref="TimeSpan"/>s. Plain settable properties, so
/// <c>configuration.GetSection("Producer").Bind(options)</c> fills them from <c>IConfiguration</c>. Validated once
/// when the producer is built; changing the object afterwards has no effect on a running producer.
/// </summary>
public sealed class KafkaProducerOptions : KafkaClientOptions
{
    /// <summary>The most records one partition may carry in one batch, whatever their size (librdkafka's <c>batch.num.messages</c> is per request; this bounds the delivery bookkeeping per batch).</summary>
    internal const int MaxRecordsPerBatch = 1 << 20;

    /// <summary>The least <see cref="MetadataMaxIdle"/> (the Java client's lower bound for <c>metadata.max.idle.ms</c>).</summary>
    internal static readonly TimeSpan MinMetadataMaxIdle = TimeSpan.FromSeconds(5);

    /// <summary><c>acks</c>: the acknowledgement each request waits for. Default <see cref="Acks.All"/>.</summary>
    public Acks Acks { get; set; } = Acks.All;

    /// <summary>
    /// <c>linger.ms</c>: how long a partition's batch waits for more records before it is sent, when it is not full.
    /// <see cref="TimeSpan.Zero"/> sends as soon as the sender is free. Default 5 ms (the Java client's default
    /// since Kafka 4.0, and librdkafka's).
    /// </summary>
    public TimeSpan Linger { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary>
    /// Whether a batch may go out before <see cref="Linger"/> when its broker has no produce request in flight.
    /// <para>True (default): after a quiet moment the first records are sent at once, and batches form from what
    /// arrives while a request is in flight, up to <see cref="Linger"/> (Nagle's algorithm; franz-go batches this
    /// way). A lightly loaded producer is acknowledged in one round trip instead of linger + one, and callers that
    /// each await <c>ProduceAsync</c> are bound by the round trip, not by linger. Under load a request is nearly
    /// always in flight, so batches fill as with a fixed linger.</para>
    /// <para>False: every batch that is not full waits <see cref="Linger"/>, as the Java client and librdkafka do —
    /// fewer, larger requests when records trickle in.</para>
    /// </summary>
    public bool SendWhenIdle { get; set; } = true;

    /// <summary>
    /// <c>batch.size</c>: the most bytes of records (uncompressed, with the 61-byte batch header) one partition's batch
    /// holds; a full batch is sent without waiting for <see cref="Linger"/>. A single record larger than this gets a
    /// batch of its own. Batch buffers start small and grow, so a large value costs memory only on busy partitions.
    /// Default 1,000,000 bytes (librdkafka's default; the Java client's is 16 KiB). At most <see cref="MaxRequestSize"/>.
    /// </summary>
    public int BatchSize { get; set; } = 1_000_000;

    /// <summary>
    /// <c>max.request.size</c>: the largest Produce request sent, and so the largest record accepted (a larger one
    /// fails at once with <see cref="ProduceErrorKind.RecordTooLarge"/>). Requests carry one batch per partition,
    /// as many partitions as fit. Default 1 MiB (1,048,576 bytes, Kafka's default).
    /// </summary>
    public int MaxRequestSize { get; set; } = 1024 * 1024;

    /// <summary>
    /// <c>buffer.memory</c>: the most bytes of batch buffers the producer holds for records not yet acknowledged.
    /// When it is used up, producing waits up to <see cref="MaxBlock"/> for memory, then fails with
    /// <see cref="ProduceErrorKind.BufferExhausted"/>. Default 32 MiB (Kafka's default).
    /// </summary>
    public long BufferMemory { get; set; } = 32L * 1024 * 1024;

    /// <summary>
    /// <c>max.block.ms</c>: how long a produce call may wait for buffer memory or for the topic's first metadata
    /// before it fails. Default 60 s (Kafka's default).
    /// </summary>
    public TimeSpan MaxBlock { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// <c>delivery.timeout.ms</c>: the upper bound on the time from producing a record to reporting it delivered or
    /// failed, retries included. Must be at least <see cref="Linger"/> + <see cref="KafkaClientOptions.RequestTimeout"/>.
    /// Default 120 s (Kafka's default).
    /// </summary>
    public TimeSpan DeliveryTimeout { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary><c>retry.backoff.ms</c>: the wait before the first retry of a failed batch; it doubles per attempt (with ±20% jitter) up to <see cref="RetryBackoffMax"/>. Default 100 ms.</summary>
    public TimeSpan RetryBackoff { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary><c>retry.backoff.max.ms</c>: the longest wait between retries of a batch. Default 1 s.</summary>
    public TimeSpan RetryBackoffMax { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary><c>compression.type</c>: the codec for every batch (none, gzip, snappy, lz4, zstd). Default <see cref="CompressionType.None"/>.</summary>
    public CompressionType CompressionType { get; set; } = CompressionType.None;

    /// <summary>
    /// <c>compression.level</c> (<c>compression.gzip.level</c>, <c>compression.lz4.level</c>, <c>compression.zstd.level</c>):
    /// the codec's level, or null for its default (gzip -1 i.e. 6, lz4 1, zstd 3). Values outside the codec's range
    /// are clamped; snappy has no levels. Default null.
    /// </summary>
    public int? CompressionLevel { get; set; }

    /// <summary>
    /// <c>enable.idempotence</c>: exactly-once delivery per partition within the producer's life (producer id, epoch
    /// and sequence numbers; retries never duplicate or reorder). Null (the default) means on, unless
    /// <see cref="Acks"/> is not <see cref="Acks.All"/> or more than 5 requests may be in flight — then off,
    /// as the Java client does when idempotence is not set explicitly. True requires acks=all and at most 5 in
    /// flight; false turns it off.
    /// </summary>
    public bool? EnableIdempotence { get; set; }

    /// <summary>
    /// <c>partitioner.class</c> / librdkafka's <c>partitioner</c>: how records without an explicit partition are
    /// placed. Default <see cref="PartitionerKind.Murmur2Random"/> (Java-compatible murmur2 for keys, sticky for null keys).
    /// </summary>
    public PartitionerKind Partitioner { get; set; } = PartitionerKind.Murmur2Random;

    /// <summary>A partitioner of your own; when set it replaces <see cref="Partitioner"/>. Default null.</summary>
    public IPartitioner? CustomPartitioner { get; set; }

    /// <summary>
    /// How long <c>DisposeAsync</c> waits for buffered records to be delivered before failing the rest with
    /// <see cref="ProduceErrorKind.Disposed"/> (the Java client's <c>close(Duration)</c>). Default 30 s.
    /// </summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// <c>metadata.max.idle.ms</c>: how long a topic the producer has not produced to stays in its metadata. Once a
    /// topic has had no record for this long and has nothing waiting or in flight, the producer stops asking the
    /// cluster for it (and forgets its partitions), so a producer that wrote to many short-lived topics — an RPC
    /// server's per-client reply topics — does not keep asking for them; the next record to it waits for its
    /// metadata again, as the first one did (up to <see cref="MaxBlock"/>). At least 5 s (Kafka's minimum).
    /// Default 5 minutes (Kafka's default).
    /// </summary>
    public TimeSpan MetadataMaxIdle { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Whether idempotence is on once defaults are resolved (see <see cref="EnableIdempotence"/>).</summary>
    internal bool IdempotenceEnabled => EnableIdempotence ?? (Acks == Acks.All && MaxInFlightRequestsPerConnection <= 5);

    /// <summary>
    /// A copy of these settings: later changes to either object do not reach the other. Shallow: the objects the
    /// settings hold (<see cref="KafkaClientOptions.Ssl"/>, <see cref="KafkaClientOptions.Sasl"/>, the partitioner,
    /// the logger factory) are shared.
    /// </summary>
    public KafkaProducerOptions Clone() => (KafkaProducerOptions)MemberwiseClone();

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        if (Acks is not (Acks.None or Acks.Leader or Acks.All))
        {
            throw new ArgumentException("Acks (acks) must be None (0), Leader (1) or All (-1).", nameof(Acks));
        }

        if (Linger < TimeSpan.Zero || Linger > TimeSpan.FromMinutes(15))
        {
            throw new ArgumentException("Linger (linger.ms) must be between 0 and 15 minutes.", nameof(Linger));
        }

        if (MaxRequestSize < 1024)
        {
            throw new ArgumentException("MaxRequestSize (max.request.size) must be at least 1024 bytes.", nameof(MaxRequestSize));
        }

        if (BatchSize < 1 || BatchSize > MaxRequestSize)
        {
            throw new ArgumentException("BatchSize (batch.size) must be between 1 and MaxRequestSize (max.request.size).", nameof(BatchSize));
        }

        if (BufferMemory < MaxRequestSize)
        {
            throw new ArgumentException("BufferMemory (buffer.memory) must be at least MaxRequestSize (max.request.size), so the largest record fits.", nameof(BufferMemory));
        }

        if (MaxBlock < TimeSpan.Zero)
        {
            throw new ArgumentException("MaxBlock (max.block.ms) must not be negative.", nameof(MaxBlock));
        }

        if (DeliveryTimeout < Messaging.Threading.Clock.Sum(Linger, RequestTimeout))
        {
            throw new ArgumentException("DeliveryTimeout (delivery.timeout.ms) must be at least Linger (linger.ms) + RequestTimeout (request.timeout.ms).", nameof(DeliveryTimeout));
        }

        if (RetryBackoff <= TimeSpan.Zero || RetryBackoffMax < RetryBackoff)
        {
            throw new ArgumentException("RetryBackoff (retry.backoff.ms) must be positive and at most RetryBackoffMax (retry.backoff.max.ms).", nameof(RetryBackoff));
        }

        if (!Enum.IsDefined(CompressionType))
        {
            throw new ArgumentException("CompressionType (compression.type) must be None, Gzip, Snappy, Lz4 or Zstd.", nameof(CompressionType));
        }

        if (!Enum.IsDefined(Partitioner))
        {
            throw new ArgumentException("Partitioner must be one of " + string.Join(", ", Enum.GetNames<PartitionerKind>()) + ".", nameof(Partitioner));
        }

        if (MetadataMaxIdle < MinMetadataMaxIdle)
        {
            throw new ArgumentException("MetadataMaxIdle (metadata.max.idle.ms) must be at least 5 seconds.", nameof(MetadataMaxIdle));
        }

        if (CloseTimeout < TimeSpan.Zero)
        {
            throw new ArgumentException("CloseTimeout must not be negative.", nameof(CloseTimeout));
        }

        if (EnableIdempotence == true)
        {
            if (Acks != Acks.All)
            {
                throw new ArgumentException("EnableIdempotence (enable.idempotence) requires Acks (acks) = All.", nameof(EnableIdempotence));
            }

            if (MaxInFlightRequestsPerConnection > 5)
            {
                throw new ArgumentException("EnableIdempotence (enable.idempotence) requires MaxInFlightRequestsPerConnection (max.in.flight.requests.per.connection) at most 5.", nameof(EnableIdempotence));
            }
        }
    }
}
