namespace Messaging.Rpc;

/// <summary>How an <see cref="RpcClient"/> receives its replies. None of them involves a consumer group or a rebalance.</summary>
public enum RpcReplyMode
{
    /// <summary>
    /// The default: a reply topic shared by client instances, of which this instance reads one partition (chosen from
    /// a hash of its instance ID, or set explicitly) from its end, keeping only replies to its own calls. Requests name
    /// that partition, so repliers send there. The partition is chosen at start: partitions added later do not move it.
    /// </summary>
    SharedTopicOnePartition,

    /// <summary>
    /// A reply topic of this client alone (<c>ReplyTopic-InstanceId-</c> and a random suffix of the client's own, so
    /// two clients given the same instance ID never share one), created at start and deleted on dispose.
    /// </summary>
    PerInstanceTopic,

    /// <summary>
    /// Every partition of a shared reply topic, from its end; each request names one of the partitions the client
    /// reads (chosen from its correlation ID), so repliers send there. Every instance reads every reply and keeps its
    /// own: simple, and fine for few instances. Partitions added to the topic later are found every
    /// <see cref="KafkaClientOptions.MetadataMaxAge"/> of the reply consumer, read from their start and named from then
    /// on; until then requests name only the partitions read before, so no reply waits for that look-up.
    /// </summary>
    SharedTopicAllPartitions,
}
