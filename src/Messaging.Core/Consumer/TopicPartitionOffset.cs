namespace Messaging;

/// <summary>A partition and where to start reading it.</summary>
/// <param name="TopicPartition">The partition.</param>
/// <param name="Start">Where to start.</param>
public readonly record struct TopicPartitionOffset(TopicPartition TopicPartition, OffsetSpec Start)
{
    /// <summary>Creates one from a topic, a partition and a start.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="partition">The partition.</param>
    /// <param name="start">Where to start.</param>
    public TopicPartitionOffset(string topic, int partition, OffsetSpec start)
        : this(new TopicPartition(topic, partition), start)
    {
    }
}
