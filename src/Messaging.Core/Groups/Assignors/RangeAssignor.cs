using Messaging.Groups.Assignors;

namespace Messaging.Groups;

/// <summary>
/// The <c>range</c> assignor, with the Java client's results: topic by topic, the members subscribed to the topic in
/// member order (static members by instance id first, then member id) each get a contiguous range of
/// <c>partitions / members</c> partitions, and the first <c>partitions % members</c> of them one more.
/// </summary>
/// <remarks>
/// Members subscribed to the same topics with the same partition counts get the same partition numbers of every
/// topic (co-partitioning), which is why this is the Java client's first default. Eager only.
/// </remarks>
public sealed class RangeAssignor : IConsumerPartitionAssignor
{
    /// <summary>The protocol name, <c>range</c>.</summary>
    public const string AssignorName = "range";

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
        var subscribed = new List<int>(members.Length);

        foreach (string topic in AssignorInput.SortedTopics(counts))
        {
            subscribed.Clear();
            for (int m = 0; m < members.Length; m++)
            {
                if (Subscribes(subscriptions[members[m]], topic))
                {
                    subscribed.Add(m);
                }
            }

            int partitionCount = counts[topic];
            int perMember = partitionCount / subscribed.Count;
            int withExtra = partitionCount % subscribed.Count;
            int next = 0;
            for (int i = 0; i < subscribed.Count; i++)
            {
                int length = perMember + (i < withExtra ? 1 : 0);
                List<TopicPartition> target = assigned[subscribed[i]];
                for (int p = next; p < next + length; p++)
                {
                    target.Add(new TopicPartition(topic, p));
                }

                next += length;
            }
        }

        return AssignorInput.Result(members, assigned);
    }

    private static bool Subscribes(ConsumerSubscription subscription, string topic)
    {
        foreach (string t in subscription.Topics)
        {
            if (string.Equals(t, topic, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
