using Messaging.Groups.Assignors;

namespace Messaging.Groups;

/// <summary>
/// The <c>roundrobin</c> assignor, with the Java client's results: all partitions of all subscribed topics, sorted by
/// topic then partition, are dealt one at a time to the members in member order (static members by instance id
/// first, then member id), going round and skipping members that do not subscribe to the partition's topic. Eager only.
/// </summary>
public sealed class RoundRobinAssignor : IConsumerPartitionAssignor
{
    /// <summary>The protocol name, <c>roundrobin</c>.</summary>
    public const string AssignorName = "roundrobin";

    /// <inheritdoc/>
    public string Name => AssignorName;

    /// <inheritdoc/>
    public IReadOnlyList<RebalanceProtocol> SupportedProtocols { get; } = [RebalanceProtocol.Eager];

    /// <inheritdoc/>
    public ReadOnlyMemory<byte>? GetSubscriptionUserData(IReadOnlyCollection<string> topics) => null;

    /// <inheritdoc/>
    public void OnAssignment(ConsumerAssignment assignment, int generationId)
    {
    }

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, ConsumerAssignment> Assign(AssignorClusterView cluster, IReadOnlyDictionary<string, ConsumerSubscription> subscriptions)
    {
        Dictionary<string, int> counts = AssignorInput.SubscribedPartitionCounts(cluster, subscriptions);
        string[] members = MemberOrder.Sorted(subscriptions);
        List<TopicPartition>[] assigned = AssignorInput.EmptyLists(members.Length);
        var topicSets = new HashSet<string>[members.Length];
        for (int m = 0; m < members.Length; m++)
        {
            topicSets[m] = new HashSet<string>(subscriptions[members[m]].Topics, StringComparer.Ordinal);
        }

        // The circular iterator of Java's RoundRobinAssignor: peek until a subscribed member, assign, step past it.
        // Every topic in counts has a subscriber, so the inner loop ends within one round.
        int cursor = 0;
        foreach (string topic in AssignorInput.SortedTopics(counts))
        {
            int partitionCount = counts[topic];
            for (int p = 0; p < partitionCount; p++)
            {
                while (!topicSets[cursor].Contains(topic))
                {
                    cursor = (cursor + 1) % members.Length;
                }

                assigned[cursor].Add(new TopicPartition(topic, p));
                cursor = (cursor + 1) % members.Length;
            }
        }

        return AssignorInput.Result(members, assigned);
    }
}
