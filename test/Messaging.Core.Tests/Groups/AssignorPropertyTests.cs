using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Messaging.Groups;

namespace Messaging.Core.Tests.Groups;

/// <summary>
/// Properties of the built-in assignors over random groups: every assignment is valid (disjoint, within each member's
/// topics, covering exactly the subscribed partitions), and the cooperative-sticky assignor is balanced, sticky (a join
/// or leave moves no more partitions than a balanced result must) and cooperative (never assigns a partition in the
/// round in which it is revoked).
/// </summary>
public sealed class AssignorPropertyTests
{
    private static readonly string[] Topics = ["a", "b", "c", "d"];

    /// <summary>A random group: partition counts (topic "d" absent from the cluster), members with random topics, some static.</summary>
    private static readonly Gen<(AssignorClusterView Cluster, Dictionary<string, ConsumerSubscription> Members)> Groups =
        from counts in Gen.ArrayOf(Gen.Choose(0, 12), 3)
        from memberCount in Gen.Choose(1, 8)
        from topicMasks in Gen.ArrayOf(Gen.Choose(0, 15), memberCount)
        from staticMask in Gen.Choose(0, 255)
        select (
            AssignorFixtures.ClusterOf(("a", counts[0]), ("b", counts[1]), ("c", counts[2])),
            Enumerable.Range(0, memberCount).ToDictionary(
                m => "member-" + ((m * 7919) % 1000).ToString("D3"),
                m => new ConsumerSubscription([.. Topics.Where((_, t) => (topicMasks[m] & (1 << t)) != 0)])
                {
                    GroupInstanceId = (staticMask & (1 << m)) != 0 ? "instance-" + (memberCount - m) : null,
                }));

    public static TheoryData<string> AssignorNames => new() { RangeAssignor.AssignorName, RoundRobinAssignor.AssignorName, CooperativeStickyAssignor.AssignorName };

    private static IConsumerPartitionAssignor Create(string name) => name switch
    {
        RangeAssignor.AssignorName => new RangeAssignor(),
        RoundRobinAssignor.AssignorName => new RoundRobinAssignor(),
        _ => new CooperativeStickyAssignor(),
    };

    [Theory]
    [MemberData(nameof(AssignorNames))]
    public void Every_assignor_gives_disjoint_assignments_covering_exactly_the_subscribed_partitions(string name)
    {
        Prop.ForAll(Groups.ToArbitrary(), group =>
        {
            var result = AssignorFixtures.Run(Create(name), group.Cluster, group.Members);
            AssertValid(group.Cluster, group.Members, result, complete: true);
        }).QuickCheckThrowOnFailure();
    }

    [Property(MaxTest = 200)]
    public Property Cooperative_sticky_from_random_ownership_is_valid_every_round_and_converges_balanced() =>
        Prop.ForAll(Groups.ToArbitrary(), Gen.Choose(0, int.MaxValue).ToArbitrary(), (group, seed) =>
        {
            // Random claims, possibly conflicting, from random generations.
            var random = new Random(seed);
            var all = AllPartitions(group.Cluster).ToList();
            var members = group.Members.ToDictionary(
                e => e.Key,
                e => new ConsumerSubscription(e.Value.Topics)
                {
                    GroupInstanceId = e.Value.GroupInstanceId,
                    OwnedPartitions = [.. all.Where(_ => random.Next(4) == 0)],
                    GenerationId = random.Next(-1, 4),
                });
            var assignor = new CooperativeStickyAssignor();
            var first = AssignorFixtures.Run(assignor, group.Cluster, members);
            AssertValid(group.Cluster, members, first, complete: false);

            var (final, _) = CooperativeRounds.Converge(assignor, group.Cluster, members, generation: 4);
            AssertValid(group.Cluster, members, final, complete: true);
            AssertBalancedAsJavaDefinesIt(members, final);
        });

    [Property(MaxTest = 300)]
    public Property Cooperative_sticky_join_or_leave_is_balanced_and_moves_the_minimum() =>
        Prop.ForAll(
            Gen.ArrayOf(Gen.Choose(0, 20), 3).ToArbitrary(),
            Gen.Choose(1, 10).ToArbitrary(),
            Gen.Choose(0, int.MaxValue).ToArbitrary(),
            (counts, memberCount, seed) =>
            {
                var random = new Random(seed);
                var cluster = AssignorFixtures.ClusterOf(("a", counts[0]), ("b", counts[1]), ("c", counts[2]));
                string[] topics = ["a", "b", "c"];
                var assignor = new CooperativeStickyAssignor();

                // A stable group: members owning a random disjoint part of the partitions (balanced or not).
                var names = Enumerable.Range(0, memberCount).Select(i => "m" + random.Next(1_000_000).ToString("D6") + i).ToList();
                var owned = names.ToDictionary(n => n, _ => new List<TopicPartition>());
                foreach (var tp in AllPartitions(cluster))
                {
                    int owner = random.Next(memberCount + 1);
                    if (owner < memberCount)
                    {
                        owned[names[owner]].Add(tp);
                    }
                }

                var members = names.ToDictionary(n => n, n => AssignorFixtures.Owning(7, topics, [.. owned[n]]));
                bool join = memberCount == 1 || random.Next(2) == 0;
                if (join)
                {
                    members["joiner"] = AssignorFixtures.Owning(-1, topics);
                }
                else
                {
                    members.Remove(names[random.Next(memberCount)]);
                }

                var (final, rounds) = CooperativeRounds.Converge(assignor, cluster, members, generation: 7);
                AssertValid(cluster, members, final, complete: true);
                Assert.True(CooperativeRounds.FullyBalanced(final), "not balanced within one");
                Assert.InRange(rounds, 1, 2);

                // Partitions whose owner is still in the group and that changed owner, against the fewest any balanced
                // assignment needs: each member keeps at most its quota, and only P % N members may keep one extra.
                int moved = members.Sum(m => m.Value.OwnedPartitions.Count(tp => !final[m.Key].Contains(tp)));
                int total = counts.Sum();
                int quota = total / members.Count;
                int extra = total % members.Count;
                int ownedCount = members.Values.Sum(s => s.OwnedPartitions.Count);
                int kept = members.Values.Sum(s => Math.Min(s.OwnedPartitions.Count, quota))
                           + Math.Min(extra, members.Values.Count(s => s.OwnedPartitions.Count > quota));
                Assert.Equal(ownedCount - kept, moved);
            });

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Cooperative_sticky_handles_a_large_group(bool equalSubscriptions)
    {
        // 200 members, 20 topics of 500 partitions: a member leaves a stable group and another joins.
        var random = new Random(42);
        string[] topics = [.. Enumerable.Range(0, 20).Select(t => "topic-" + t)];
        var cluster = new AssignorClusterView(topics.Select(t => new KeyValuePair<string, int>(t, 500)));
        var members = Enumerable.Range(0, 200).ToDictionary(
            m => "member-" + m,
            m => new ConsumerSubscription(equalSubscriptions ? topics : [.. topics.Where(_ => random.Next(3) > 0)]));
        var assignor = new CooperativeStickyAssignor();
        var (stable, _) = CooperativeRounds.Converge(assignor, cluster, members, generation: 1);

        var next = stable.Where(e => e.Key != "member-7").ToDictionary(
            e => e.Key, e => AssignorFixtures.Owning(5, [.. members[e.Key].Topics], [.. e.Value]));
        next["joiner"] = AssignorFixtures.Owning(-1, topics);
        var (final, _) = CooperativeRounds.Converge(assignor, cluster, next, generation: 5);
        AssertValid(cluster, next, final, complete: true);
        AssertBalancedAsJavaDefinesIt(next, final);
        if (equalSubscriptions)
        {
            Assert.True(CooperativeRounds.FullyBalanced(final));
        }
    }

    private static IEnumerable<TopicPartition> AllPartitions(AssignorClusterView cluster) =>
        cluster.PartitionCounts.OrderBy(e => e.Key, StringComparer.Ordinal)
            .SelectMany(e => Enumerable.Range(0, e.Value).Select(p => new TopicPartition(e.Key, p)));

    private static void AssertValid(
        AssignorClusterView cluster,
        IReadOnlyDictionary<string, ConsumerSubscription> members,
        IReadOnlyDictionary<string, List<TopicPartition>> result,
        bool complete)
    {
        Assert.Equal(members.Keys.Order(StringComparer.Ordinal), result.Keys.Order(StringComparer.Ordinal));
        var given = result.Values.SelectMany(l => l).ToList();
        Assert.Equal(given.Count, given.Distinct().Count());
        foreach (var (member, partitions) in result)
        {
            Assert.All(partitions, tp => Assert.Contains(tp.Topic, members[member].Topics));
        }

        var subscribed = AllPartitions(cluster).Where(tp => members.Values.Any(s => s.Topics.Contains(tp.Topic))).ToHashSet();
        Assert.Subset(subscribed, given.ToHashSet());
        if (complete)
        {
            Assert.Equal(subscribed, given.ToHashSet());
        }
    }

    /// <summary>Java's <c>isBalanced</c>: no member could take a partition from one with two or more partitions more.</summary>
    private static void AssertBalancedAsJavaDefinesIt(IReadOnlyDictionary<string, ConsumerSubscription> members, Dictionary<string, List<TopicPartition>> result)
    {
        foreach (var (owner, partitions) in result)
        {
            foreach (var tp in partitions)
            {
                foreach (var (other, theirs) in result)
                {
                    Assert.False(members[other].Topics.Contains(tp.Topic) && theirs.Count + 1 < partitions.Count,
                        $"{tp} of {owner} ({partitions.Count}) could move to {other} ({theirs.Count})");
                }
            }
        }
    }
}
