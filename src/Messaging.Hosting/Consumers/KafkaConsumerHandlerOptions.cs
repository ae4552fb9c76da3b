namespace Messaging.Hosting;

/// <summary>
/// The settings of a hosted consumer (<c>AddKafkaConsumerHandler</c>), bound from its configuration section; the
/// consumer's own settings (<see cref="KafkaConsumerOptions"/>: bootstrap servers, <c>GroupId</c>, ...) come from the
/// section's <c>Consumer</c> subsection.
/// </summary>
public sealed class KafkaConsumerHandlerOptions
{
    /// <summary>The topics to subscribe to (configuration: <c>Topics:0</c>, <c>Topics:1</c>, ... or a JSON array). At least one.</summary>
    public IList<string> Topics { get; } = [];

    /// <summary>How many records are handled at the same time, across partitions (records of one partition never run concurrently). Default 8; 1 to 1024.</summary>
    public int MaxConcurrency { get; set; } = 8;

    /// <summary>
    /// How many records of one partition may wait for their handler; when reached, the partition is paused until half
    /// of them are handled, so a slow partition does not fill memory and the others keep flowing. Default 100; 1 to 100,000.
    /// </summary>
    public int PartitionBufferSize { get; set; } = 100;

    /// <summary>How many times a record's handler runs before the record is given up (dead-lettered, or its partition stopped). Default 3; 1 to 100.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>The wait after the first failed attempt; doubled after each further one up to <see cref="MaxRetryBackoff"/>. Default 200 ms; 0 to int.MaxValue ms.</summary>
    public TimeSpan RetryBackoff { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The longest wait between attempts. Default 10 s; at least <see cref="RetryBackoff"/>, at most int.MaxValue ms.</summary>
    public TimeSpan MaxRetryBackoff { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Where records whose handler keeps failing (or whose key or value cannot be deserialized) go, with the original
    /// key, value and headers plus the <see cref="DeadLetterHeaders"/>; their partition keeps flowing. Null (the
    /// default): such a record stops its partition (see the package README).
    /// </summary>
    public string? DeadLetterTopic { get; set; }

    /// <summary>
    /// The service key of the producer (registered with <c>AddKafkaProducer</c>) that writes dead letters; null for
    /// the default, unkeyed one.
    /// </summary>
    public string? DeadLetterProducerKey { get; set; }

    /// <summary>
    /// How long a stopping host, or a rebalance taking partitions away, waits for the handlers in flight before it
    /// cancels them (their records are then not committed and run again elsewhere). Default 20 s, under the host's
    /// default 30 s shutdown timeout; at most int.MaxValue ms.
    /// </summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(20);
}
