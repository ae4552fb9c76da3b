namespace Messaging.Groups.Assignors;

/// <summary>
/// The sticky assignor's view of a rebalance: members in a fixed order, the partitions each may keep, and whether all
/// members subscribe to the same topics (the Java client's <c>AbstractStickyAssignor.allSubscriptionsEqual</c>,
/// which also settles conflicting ownership claims).
/// </summary>
internal sealed class StickyInput
{
    /// <summary>The generation of a member that has never been assigned (Java's <c>DEFAULT_GENERATION</c>).</summary>
    public const int DefaultGeneration = -1;

    private StickyInput(string[] members, Dictionary<string, int> counts)
    {
        Members = members;
        PartitionCounts = counts;
        SortedTopics = AssignorInput.SortedTopics(counts);
        foreach (int count in counts.Values)
        {
            TotalPartitions += count;
        }

        Owned = AssignorInput.EmptyLists(members.Length);
        RawOwned = new IReadOnlyList<TopicPartition>[members.Length];
        TopicSets = new HashSet<string>[members.Length];
        Generations = new int?[members.Length];
    }

    /// <summary>The member ids in the order Java's sticky assignor iterates them (<see cref="JavaHashOrder"/>).</summary>
    public string[] Members { get; }

    /// <summary>The partition count of every subscribed topic that has partitions.</summary>
    public Dictionary<string, int> PartitionCounts { get; }

    /// <summary>The topics of <see cref="PartitionCounts"/>, sorted ordinally.</summary>
    public string[] SortedTopics { get; }

    /// <summary>The number of partitions of all subscribed topics.</summary>
    public int TotalPartitions { get; }

    /// <summary>
    /// Each member's previously owned partitions that it may keep: existing partitions of subscribed topics, each
    /// claimed by one member only (the newest generation wins a conflict).
    /// </summary>
    public List<TopicPartition>[] Owned { get; }

    /// <summary>Each member's owned partitions exactly as its subscription lists them.</summary>
    public IReadOnlyList<TopicPartition>[] RawOwned { get; }

    /// <summary>Partitions claimed by two members of the same generation: neither may keep them.</summary>
    public HashSet<TopicPartition> MultiplyClaimed { get; } = [];

    /// <summary>Each member's subscribed topics.</summary>
    public HashSet<string>[] TopicSets { get; }

    /// <summary>Each member's generation as the assignor reads it, or null when unknown.</summary>
    public int?[] Generations { get; }

    /// <summary>The highest generation any member reported.</summary>
    public int MaxGeneration { get; private set; } = DefaultGeneration;

    /// <summary>True when every member subscribes to the same set of topics.</summary>
    public bool AllSubscriptionsEqual { get; private set; } = true;

    /// <summary>Builds the view.</summary>
    /// <param name="cluster">The cluster view.</param>
    /// <param name="subscriptions">The subscriptions by member id.</param>
    /// <param name="generationOf">Reads a member's generation (the assignor's <c>memberData</c>).</param>
    /// <returns>The view.</returns>
    public static StickyInput Create(
        AssignorClusterView cluster,
        IReadOnlyDictionary<string, ConsumerSubscription> subscriptions,
        Func<ConsumerSubscription, int?> generationOf)
    {
        Dictionary<string, int> counts = AssignorInput.SubscribedPartitionCounts(cluster, subscriptions);
        string[] members = [.. subscriptions.Keys];
        JavaHashOrder.Sort(members);
        var input = new StickyInput(members, counts);
        input.SettleOwnership(subscriptions, generationOf);
        return input;
    }

    private void SettleOwnership(IReadOnlyDictionary<string, ConsumerSubscription> subscriptions, Func<ConsumerSubscription, int?> generationOf)
    {
        var claimedBy = new Dictionary<TopicPartition, int>();
        var ownedSets = new HashSet<TopicPartition>[Members.Length];
        for (int m = 0; m < Members.Length; m++)
        {
            ConsumerSubscription subscription = subscriptions[Members[m]];
            TopicSets[m] = new HashSet<string>(subscription.Topics, StringComparer.Ordinal);
            RawOwned[m] = subscription.OwnedPartitions;

            // Java compares the topic lists only when the first subscription was non-empty, so a member with no topics
            // could count as "equal"; comparing the sets always keeps every assignment within its member's topics.
            if (m > 0 && AllSubscriptionsEqual && !TopicSets[m].SetEquals(TopicSets[0]))
            {
                AllSubscriptionsEqual = false;
            }

            int? generation = generationOf(subscription);
            Generations[m] = generation;
            int memberGeneration = generation ?? DefaultGeneration;
            MaxGeneration = Math.Max(MaxGeneration, memberGeneration);

            ownedSets[m] = [];
            foreach (TopicPartition tp in subscription.OwnedPartitions)
            {
                // Only partitions that exist may be kept (Java checks the topic only; a partition number out of range
                // from a confused member would otherwise be handed out).
                if (!PartitionCounts.TryGetValue(tp.Topic, out int count) || (uint)tp.Partition >= (uint)count || !ownedSets[m].Add(tp))
                {
                    continue;
                }

                if (!claimedBy.TryGetValue(tp, out int other))
                {
                    claimedBy[tp] = m;
                    continue;
                }

                // As in Java, the other claimant's generation is read from its subscription field, not its user data.
                int otherGeneration = subscriptions[Members[other]].GenerationId ?? DefaultGeneration;
                if (memberGeneration == otherGeneration)
                {
                    // Two members of one generation cannot both own a partition: invalidate both claims.
                    MultiplyClaimed.Add(tp);
                    ownedSets[other].Remove(tp);
                    ownedSets[m].Remove(tp);
                    claimedBy[tp] = m;
                }
                else if (memberGeneration > otherGeneration)
                {
                    // The newer generation's claim wins.
                    ownedSets[other].Remove(tp);
                    claimedBy[tp] = m;
                }
                else
                {
                    ownedSets[m].Remove(tp);
                }
            }
        }

        // Keep each member's claims in the order it listed them (the builders sort where Java sorts).
        for (int m = 0; m < Members.Length; m++)
        {
            foreach (TopicPartition tp in subscriptions[Members[m]].OwnedPartitions)
            {
                if (ownedSets[m].Remove(tp))
                {
                    Owned[m].Add(tp);
                }
            }
        }
    }
}
