using System.Diagnostics;
using Messaging.Compression;
using Messaging.Producer.Partitioners;

namespace Messaging.Producer;

/// <summary>The producer's settings, validated once and frozen, with durations pre-converted to <see cref="Stopwatch"/> ticks for the hot paths.</summary>
internal sealed class ProducerSettings
{
    public ProducerSettings(KafkaProducerOptions options)
    {
        options.Validate();
        Acks = options.Acks;
        Idempotent = options.IdempotenceEnabled;
        LingerTicks = ToTicks(options.Linger);
        BatchSize = options.BatchSize;
        MaxRequestSize = options.MaxRequestSize;
        BufferMemory = options.BufferMemory;
        MaxBlock = options.MaxBlock;
        DeliveryTimeoutTicks = ToTicks(options.DeliveryTimeout);
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
    }

    public Acks Acks { get; }

    public bool Idempotent { get; }

    public long LingerTicks { get; }

    public int BatchSize { get; }

    public int MaxRequestSize { get; }

    public long BufferMemory { get; }

    public TimeSpan MaxBlock { get; }

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

    public static long ToTicks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    /// <summary>The wait before retry number <paramref name="attempt"/> (1-based): doubling from retry.backoff.ms, ±20% jitter, capped (KIP-580).</summary>
    public long RetryBackoffTicks(int attempt)
    {
        var exponent = Math.Min(Math.Max(attempt - 1, 0), 20);
        var ms = Math.Min(RetryBackoff.TotalMilliseconds * (1L << exponent), RetryBackoffMax.TotalMilliseconds);
        ms *= 0.8 + (Random.Shared.NextDouble() * 0.4);
        return (long)(ms / 1000.0 * Stopwatch.Frequency);
    }
}
