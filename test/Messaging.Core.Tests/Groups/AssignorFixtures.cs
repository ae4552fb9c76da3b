using Messaging.Groups;

namespace Messaging.Core.Tests.Groups;

/// <summary>Small builders for assignor tests, named after the helpers of the Java client's assignor tests.</summary>
internal static class AssignorFixtures
{
    public const string Topic = "topic";
    public const string Topic1 = "topic1";
    public const string Topic2 = "topic2";
    public const string Topic3 = "topic3";
    public const string Consumer1 = "consumer1";
    public const string Consumer2 = "consumer2";
    public const string Consumer3 = "consumer3";
    public const string Consumer4 = "consumer4";

    public static TopicPartition Tp(string topic, int partition) => new(topic, partition);

    public static AssignorClusterView ClusterOf(params (string Topic, int Partitions)[] topics) =>
        new(topics.Select(t => new KeyValuePair<string, int>(t.Topic, t.Partitions)));

    public static ConsumerSubscription Sub(params string[] topics) => new(topics);

    public static ConsumerSubscription Static(string instanceId, params string[] topics) => new(topics) { GroupInstanceId = instanceId };

    /// <summary>A subscription of protocol version 2 or later: owned partitions and the generation they belong to.</summary>
    public static ConsumerSubscription Owning(int generation, string[] topics, params TopicPartition[] owned) =>
        new(topics) { OwnedPartitions = owned, GenerationId = generation };

    public static Dictionary<string, List<TopicPartition>> Run(
        IConsumerPartitionAssignor assignor,
        AssignorClusterView cluster,
        IReadOnlyDictionary<string, ConsumerSubscription> subscriptions) =>
        assignor.Assign(cluster, subscriptions).ToDictionary(e => e.Key, e => e.Value.Partitions.ToList(), StringComparer.Ordinal);
}
