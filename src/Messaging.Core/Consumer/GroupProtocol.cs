namespace Messaging;

/// <summary>Which of Kafka's two consumer-group protocols a subscribed consumer uses (<c>group.protocol</c>).</summary>
public enum GroupProtocol
{
    /// <summary>
    /// The classic protocol (JoinGroup, SyncGroup, Heartbeat; every Kafka since 0.9 and most managed services): the
    /// group's leader computes the assignment with the configured partition assignors.
    /// </summary>
    Classic,

    /// <summary>
    /// KIP-848's consumer protocol (ConsumerGroupHeartbeat, Kafka 4.0+): the broker computes the assignment
    /// (<see cref="KafkaConsumerOptions.GroupRemoteAssignor"/>) and moves partitions one at a time, without stopping
    /// the group.
    /// </summary>
    Consumer,
}
