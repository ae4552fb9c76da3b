using Messaging.Partitioners;
using Messaging.Threading;

namespace Messaging.Producer;

/// <summary>The producer's settings, validated once and frozen, with durations pre-converted to ticks of the producer's <see cref="Threading.Clock"/> for the hot paths.</summary>
internal sealed class ProducerSettings
{
    /// <summary>
    /// How late after <c>delivery.timeout.ms</c> (counted from the call) a record's outcome may arrive: the period of
    /// the producer's housekeeping (50 ms), which expires batches, plus timer ticks and scheduling on a busy machine.
    /// </summary>
    public static readonly TimeSpan OutcomeSlack = TimeSpan.FromMilliseconds(200);

    public ProducerSettings(KafkaProducerOptions options)
    {
        options.Validate();
        Clock = new Clock(options.TimeProvider);
        Acks = options.Acks;
        Idempotent = options.IdempotenceEnabled;
        LingerTicks = Clock.ToTicks(options.Linger);
        SendWhenIdle = options.SendWhenIdle;
        BatchSize = options.BatchSize;
        MaxRequestSize = options.MaxRequestSize;
        BufferMemory = options.BufferMemory;
        MaxBlock = options.MaxBlock;
        AppendWaitLimit = options.MaxBlock < options.DeliveryTimeout ? options.MaxBlock : options.DeliveryTimeout;
        DeliveryTimeout = options.DeliveryTimeout;
        DeliveryTimeoutTicks = Clock.ToTicks(options.DeliveryTimeout);
        RetryBackoff = options.RetryBackoff;
        RetryBackoffMax = options.RetryBackoffMax;
        Compression = options.CompressionType;
        CompressionLevel = options.CompressionLevel;
        Partitioner = options.Partitioner;
        CustomPartitioner = options.CustomPartitioner;
        MaxInFlight = options.MaxInFlightRequestsPerConnection;
        RequestTimeout = options.RequestTimeout;
        CloseTimeout = options.CloseTimeout;
        ReconnectBackoff = options.ReconnectBackoff;
        MetadataMaxIdleTicks = Clock.ToTicks(options.MetadataMaxIdle);
    }

    /// <summary>Where the producer reads the time: every timestamp below (linger, deadlines, backoff) is in its ticks.</summary>
    public Clock Clock { get; }

    public Acks Acks { get; }

    public bool Idempotent { get; }

    public long LingerTicks { get; }

    /// <summary>An open batch is ready at once while its sender has nothing in flight (<see cref="KafkaProducerOptions.SendWhenIdle"/>).</summary>
    public bool SendWhenIdle { get; }

    public int BatchSize { get; }

    public int MaxRequestSize { get; }

    public long BufferMemory { get; }

    public TimeSpan MaxBlock { get; }

    /// <summary>
    /// How long a record may wait to be appended (for its topic's metadata or for memory), counted from its call:
    /// max.block.ms, but never past delivery.timeout.ms, so every record's outcome arrives within the delivery timeout.
    /// </summary>
    public TimeSpan AppendWaitLimit { get; }

    public TimeSpan DeliveryTimeout { get; }

    public long DeliveryTimeoutTicks { get; }

    public TimeSpan RetryBackoff { get; }

    public TimeSpan RetryBackoffMax { get; }

    public CompressionType Compression { get; }

    public int? CompressionLevel { get; }

    public PartitionerKind Partitioner { get; }

    public IPartitioner? CustomPartitioner { get; }

    public int MaxInFlight { get; }

    public TimeSpan RequestTimeout { get; }

    public TimeSpan CloseTimeout { get; }

    public TimeSpan ReconnectBackoff { get; }

    /// <summary>metadata.max.idle.ms: how long a topic goes without a batch, with nothing queued or in flight, before the producer drops it.</summary>
    public long MetadataMaxIdleTicks { get; }

    /// <summary>The wait before retry number <paramref name="attempt"/> (1-based): doubling from retry.backoff.ms, ±20% jitter, capped (KIP-580); saturating at <see cref="long.MaxValue"/>.</summary>
    public long RetryBackoffTicks(int attempt)
    {
        var exponent = Math.Min(Math.Max(attempt - 1, 0), 20);
        var ms = Math.Min(RetryBackoff.TotalMilliseconds * (1L << exponent), RetryBackoffMax.TotalMilliseconds);
        ms *= 0.8 + (Random.Shared.NextDouble() * 0.4);

        // A backoff of TimeSpan.MaxValue ("never retry") jittered upwards is longer than a TimeSpan holds: it saturates.
        return Clock.ToTicks(ms >= TimeSpan.MaxValue.TotalMilliseconds ? TimeSpan.MaxValue : TimeSpan.FromMilliseconds(ms));
    }
}
