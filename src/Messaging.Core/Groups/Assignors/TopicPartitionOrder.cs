namespace Messaging.Groups.Assignors;

/// <summary>The orders on partitions that the Java assignors and protocol use, with Java's ordinal string comparison.</summary>
internal static class TopicPartitionOrder
{
    /// <summary>By topic (ordinal), then partition: Java's <c>comparing(topic).thenComparing(partition)</c>.</summary>
    public static readonly Comparer<TopicPartition> ByTopicThenPartition = Comparer<TopicPartition>.Create(static (a, b) =>
    {
        int byTopic = string.CompareOrdinal(a.Topic, b.Topic);
        return byTopic != 0 ? byTopic : a.Partition.CompareTo(b.Partition);
    });

    /// <summary>By partition, then topic (ordinal): the order in which the sticky assignor keeps owned partitions.</summary>
    public static readonly Comparer<TopicPartition> ByPartitionThenTopic = Comparer<TopicPartition>.Create(static (a, b) =>
    {
        int byPartition = a.Partition.CompareTo(b.Partition);
        return byPartition != 0 ? byPartition : string.CompareOrdinal(a.Topic, b.Topic);
    });
}
