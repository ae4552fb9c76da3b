namespace Messaging;

/// <summary>
/// A consumer group's committed position in a partition: the offset of the next record to read (the last processed
/// record's offset + 1), with optional metadata stored alongside it.
/// </summary>
/// <param name="TopicPartition">The partition.</param>
/// <param name="Offset">The offset of the next record to read; -1 in <c>CommittedAsync</c> results where nothing is committed.</param>
/// <param name="Metadata">Free text stored with the offset (Kafka's commit metadata), or null.</param>
public readonly record struct TopicPartitionCommit(TopicPartition TopicPartition, long Offset, string? Metadata = null)
{
    /// <summary>Creates one from a topic, a partition and an offset.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="partition">The partition.</param>
    /// <param name="offset">The offset of the next record to read.</param>
    /// <param name="metadata">Metadata stored with it, or null.</param>
    public TopicPartitionCommit(string topic, int partition, long offset, string? metadata = null)
        : this(new TopicPartition(topic, partition), offset, metadata)
    {
    }

    /// <summary>True when an offset is committed (<see cref="Offset"/> is not negative).</summary>
    public bool HasOffset => Offset >= 0;
}
