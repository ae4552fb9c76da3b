namespace Messaging.Groups.Assignors;

/// <summary>
/// The sticky assignment when every member subscribes to the same topics: the Java client's
/// <c>AbstractStickyAssignor.ConstrainedAssignmentBuilder</c> without rack matching.
/// </summary>
/// <remarks>
/// <para>With <c>P</c> partitions and <c>N</c> members, every member ends with <c>minQuota = P / N</c> or
/// <c>maxQuota = ceil(P / N)</c> partitions, and exactly <c>P % N</c> of them with <c>maxQuota</c>.</para>
/// <para>1. Each member keeps its owned partitions (sorted by partition, then topic) up to its quota: all of them when
/// it owns fewer than <c>minQuota</c>; <c>maxQuota</c> when it owns that many and members at <c>maxQuota</c> are
/// still wanted; otherwise <c>minQuota</c>. The rest are revoked.</para>
/// <para>2. The unassigned partitions, in topic-then-partition order, go round-robin to the members under
/// <c>minQuota</c> (sorted by member id); once those are full, to members at exactly <c>minQuota</c> in order, until
/// the wanted number of members reach <c>maxQuota</c>.</para>
/// <para>A partition given to a member other than the one that must revoke it, or one that two members of the same
/// generation claimed, is recorded as transferring ownership, so the cooperative assignor can hold it back for a
/// round.</para>
/// </remarks>
internal static class ConstrainedStickyBuilder
{
    /// <summary>Builds the assignment.</summary>
    /// <param name="input">The settled input.</param>
    /// <param name="transferring">Receives the partitions moving from one owner to another.</param>
    /// <returns>Each member's partitions, by member index.</returns>
    public static List<TopicPartition>[] Build(StickyInput input, HashSet<TopicPartition> transferring)
    {
        int memberCount = input.Members.Length;
        int total = input.TotalPartitions;
        int minQuota = total / memberCount;
        int maxQuota = (total + memberCount - 1) / memberCount;
        int expectedOverMin = total % memberCount;
        int currentOverMin = 0;

        var assignment = new List<TopicPartition>[memberCount];
        var assigned = new HashSet<TopicPartition>();
        var maybeRevoked = new Dictionary<TopicPartition, int>();
        var underMin = new List<int>();
        var exactlyMin = new List<int>();

        // Step 1: keep owned partitions within quota, members in Java's iteration order.
        for (int m = 0; m < memberCount; m++)
        {
            assignment[m] = new List<TopicPartition>(maxQuota);
            List<TopicPartition> owned = input.Owned[m];
            owned.RemoveAll(input.MultiplyClaimed.Contains);
            owned.Sort(TopicPartitionOrder.ByPartitionThenTopic);

            int keep;
            if (owned.Count < minQuota)
            {
                keep = owned.Count;
                underMin.Add(m);
            }
            else if (owned.Count >= maxQuota && currentOverMin < expectedOverMin)
            {
                keep = maxQuota;
                currentOverMin++;
                if (currentOverMin == expectedOverMin)
                {
                    // No member may grow past minQuota any more.
                    exactlyMin.Clear();
                }
            }
            else
            {
                keep = minQuota;
                if (currentOverMin < expectedOverMin)
                {
                    exactlyMin.Add(m);
                }
            }

            for (int i = 0; i < owned.Count; i++)
            {
                if (i < keep)
                {
                    assignment[m].Add(owned[i]);
                    assigned.Add(owned[i]);
                }
                else
                {
                    maybeRevoked[owned[i]] = m;
                }
            }
        }

        // Step 2: round-robin the rest; Java sorts both lists by member id first.
        Comparison<int> byMemberId = (a, b) => string.CompareOrdinal(input.Members[a], input.Members[b]);
        underMin.Sort(byMemberId);
        exactlyMin.Sort(byMemberId);
        var exactlyMinQueue = new Queue<int>(exactlyMin);
        int cursor = 0;
        foreach (string topic in input.SortedTopics)
        {
            int partitionCount = input.PartitionCounts[topic];
            for (int p = 0; p < partitionCount; p++)
            {
                var tp = new TopicPartition(topic, p);
                if (assigned.Contains(tp))
                {
                    continue;
                }

                int member;
                bool fromUnderMin;
                if (cursor < underMin.Count)
                {
                    member = underMin[cursor++];
                    fromUnderMin = true;
                }
                else if (underMin.Count > 0)
                {
                    cursor = 0;
                    member = underMin[cursor++];
                    fromUnderMin = true;
                }
                else if (exactlyMinQueue.Count > 0)
                {
                    member = exactlyMinQueue.Dequeue();
                    fromUnderMin = false;
                }
                else
                {
                    // The quotas add up to the partition count, so this cannot happen (Java throws IllegalStateException).
                    throw new InvalidOperationException("The sticky assignor ran out of members with room before every partition was assigned.");
                }

                assignment[member].Add(tp);
                if ((maybeRevoked.TryGetValue(tp, out int previous) && previous != member) || input.MultiplyClaimed.Contains(tp))
                {
                    transferring.Add(tp);
                }

                int count = assignment[member].Count;
                if (count == minQuota && fromUnderMin)
                {
                    underMin.RemoveAt(--cursor);
                    exactlyMinQueue.Enqueue(member);
                }
                else if (count == maxQuota)
                {
                    currentOverMin++;
                }
            }
        }

        return assignment;
    }
}
