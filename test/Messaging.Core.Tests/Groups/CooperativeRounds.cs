using Messaging.Groups;

namespace Messaging.Core.Tests.Groups;

/// <summary>
/// Plays cooperative rebalances the way a group does (the Java CooperativeStickyAssignorTest's
/// <c>verifyValidityAndBalance</c>): after each round every member reports what it was given as owned, and the group
/// rebalances again while anything was revoked. Every round is checked against the cooperative rule.
/// </summary>
internal static class CooperativeRounds
{
    /// <summary>The partitions given in <paramref name="assignment"/> to a member that did not own them while another member lost them.</summary>
    public static HashSet<TopicPartition> AddedWhileRevoked(
        IReadOnlyDictionary<string, ConsumerSubscription> subscriptions,
        IReadOnlyDictionary<string, List<TopicPartition>> assignment)
    {
        var added = new HashSet<TopicPartition>();
        var revoked = new HashSet<TopicPartition>();
        foreach (var (member, partitions) in assignment)
        {
            var owned = subscriptions[member].OwnedPartitions;
            added.UnionWith(partitions.Except(owned));
            revoked.UnionWith(owned.Except(partitions));
        }

        added.IntersectWith(revoked);
        return added;
    }

    /// <summary>True when some member owned a partition it was not given again.</summary>
    public static bool AnyRevoked(IReadOnlyDictionary<string, ConsumerSubscription> subscriptions, IReadOnlyDictionary<string, List<TopicPartition>> assignment) =>
        assignment.Any(e => subscriptions[e.Key].OwnedPartitions.Except(e.Value).Any());

    /// <summary>
    /// Runs rounds from <paramref name="subscriptions"/> until one revokes nothing; returns the final assignment and
    /// the number of rounds. Fails if a round breaks the cooperative rule or more than <paramref name="maxRounds"/> are needed.
    /// </summary>
    public static (Dictionary<string, List<TopicPartition>> Final, int Rounds) Converge(
        IConsumerPartitionAssignor assignor,
        AssignorClusterView cluster,
        Dictionary<string, ConsumerSubscription> subscriptions,
        int generation,
        int maxRounds = 4)
    {
        var current = new Dictionary<string, ConsumerSubscription>(subscriptions, StringComparer.Ordinal);
        for (int round = 1; ; round++)
        {
            var assignment = AssignorFixtures.Run(assignor, cluster, current);
            var violations = AddedWhileRevoked(current, assignment);
            Assert.True(violations.Count == 0, "assigned in the round they are revoked: " + string.Join(", ", violations));
            if (!AnyRevoked(current, assignment))
            {
                return (assignment, round);
            }

            Assert.True(round < maxRounds, "still revoking after " + round + " rounds");
            generation++;
            foreach (var (member, partitions) in assignment)
            {
                var old = current[member];
                current[member] = new ConsumerSubscription(old.Topics)
                {
                    OwnedPartitions = partitions,
                    GenerationId = generation,
                    GroupInstanceId = old.GroupInstanceId,
                };
            }
        }
    }

    public static bool FullyBalanced(IReadOnlyDictionary<string, List<TopicPartition>> assignment) =>
        assignment.Count == 0 || assignment.Values.Max(l => l.Count) - assignment.Values.Min(l => l.Count) <= 1;
}
