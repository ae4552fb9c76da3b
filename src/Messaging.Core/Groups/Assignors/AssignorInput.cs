namespace Messaging.Groups.Assignors;

/// <summary>
/// What every built-in assignor starts from (the Java client's <c>AbstractPartitionAssignor.assign</c>): the topics
/// some member subscribes to that the cluster view gives at least one partition, and an empty assignment per member.
/// </summary>
internal static class AssignorInput
{
    /// <summary>The partition count of every subscribed topic that has partitions, by topic.</summary>
    /// <param name="cluster">The cluster view.</param>
    /// <param name="subscriptions">The subscriptions by member id.</param>
    /// <returns>A new map; topics missing from the view or without partitions are left out.</returns>
    public static Dictionary<string, int> SubscribedPartitionCounts(AssignorClusterView cluster, IReadOnlyDictionary<string, ConsumerSubscription> subscriptions)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(subscriptions);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (ConsumerSubscription subscription in subscriptions.Values)
        {
            ArgumentNullException.ThrowIfNull(subscription, nameof(subscriptions));
            foreach (string topic in subscription.Topics)
            {
                int count = cluster.GetPartitionCount(topic);
                if (count > 0)
                {
                    counts[topic] = count;
                }
            }
        }

        return counts;
    }

    /// <summary>The topics of <paramref name="counts"/>, sorted ordinally.</summary>
    /// <param name="counts">Partition counts by topic.</param>
    /// <returns>A new sorted array.</returns>
    public static string[] SortedTopics(Dictionary<string, int> counts)
    {
        string[] topics = [.. counts.Keys];
        Array.Sort(topics, StringComparer.Ordinal);
        return topics;
    }

    /// <summary>Wraps per-member partition lists as the assignor result.</summary>
    /// <param name="members">The member ids.</param>
    /// <param name="partitions">Each member's partitions, by the index of the member in <paramref name="members"/>.</param>
    /// <returns>One assignment per member.</returns>
    public static Dictionary<string, ConsumerAssignment> Result(string[] members, List<TopicPartition>[] partitions)
    {
        var result = new Dictionary<string, ConsumerAssignment>(members.Length, StringComparer.Ordinal);
        for (int i = 0; i < members.Length; i++)
        {
            result.Add(members[i], new ConsumerAssignment(partitions[i]));
        }

        return result;
    }

    /// <summary>An empty partition list per member.</summary>
    /// <param name="memberCount">The number of members.</param>
    /// <returns>The lists.</returns>
    public static List<TopicPartition>[] EmptyLists(int memberCount)
    {
        var lists = new List<TopicPartition>[memberCount];
        for (int i = 0; i < lists.Length; i++)
        {
            lists[i] = [];
        }

        return lists;
    }
}
