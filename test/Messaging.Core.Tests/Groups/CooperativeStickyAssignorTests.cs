using System.Buffers.Binary;
using Messaging.Groups;
using Messaging.Groups.Assignors;
using static Messaging.Core.Tests.Groups.AssignorFixtures;

namespace Messaging.Core.Tests.Groups;

/// <summary>
/// The cooperative-sticky assignor against the Java client's CooperativeStickyAssignorTest and
/// AbstractStickyAssignorTest cases (without racks): the same first-round assignment, the same partitions held back
/// as transferring, and the same result once the group has rebalanced until nothing is revoked.
/// </summary>
public sealed class CooperativeStickyAssignorTests
{
    private const int GenerationId = 1;

    private readonly CooperativeStickyAssignor _assignor = new();

    [Fact]
    public void Name_and_protocols_are_javas()
    {
        Assert.Equal("cooperative-sticky", _assignor.Name);
        Assert.Equal([RebalanceProtocol.Cooperative, RebalanceProtocol.Eager], _assignor.SupportedProtocols);
    }

    [Fact]
    public void User_data_carries_the_last_generation_as_a_big_endian_int32()
    {
        Assert.Equal([0xFF, 0xFF, 0xFF, 0xFF], _assignor.GetSubscriptionUserData([Topic])!.Value.ToArray());
        _assignor.OnAssignment(new ConsumerAssignment([]), 10);
        Assert.Equal([0, 0, 0, 10], _assignor.GetSubscriptionUserData([Topic])!.Value.ToArray());
    }

    [Fact]
    public void Java_string_hash_codes_and_hash_map_order()
    {
        Assert.Equal(0, JavaHashOrder.StringHashCode(""));
        Assert.Equal(99162322, JavaHashOrder.StringHashCode("hello"));
        Assert.Equal(JavaHashOrder.StringHashCode("Aa"), JavaHashOrder.StringHashCode("BB"));

        // A Java HashMap<String, ?> of these three iterates consumer3, consumer2, consumer1.
        string[] members = [Consumer1, Consumer2, Consumer3];
        JavaHashOrder.Sort(members);
        Assert.Equal([Consumer3, Consumer2, Consumer1], members);
    }

    [Fact]
    public void A_partition_claimed_twice_in_one_generation_is_invalidated_equal_quota()
    {
        var cluster = ClusterOf((Topic, 3));
        var subscriptions = new Dictionary<string, ConsumerSubscription>
        {
            [Consumer1] = Owning(GenerationId, [Topic], Tp(Topic, 0), Tp(Topic, 1)),
            [Consumer2] = Owning(GenerationId, [Topic], Tp(Topic, 0), Tp(Topic, 2)),
            [Consumer3] = Owning(GenerationId, [Topic]),
        };
        var first = Run(_assignor, cluster, subscriptions);
        Assert.Equal([Tp(Topic, 1)], first[Consumer1]);
        Assert.Equal([Tp(Topic, 2)], first[Consumer2]);

        // topic-0 counts as owned, so it is not assigned until both claimants have revoked it.
        Assert.Empty(first[Consumer3]);

        var (final, _) = CooperativeRounds.Converge(_assignor, cluster, subscriptions, GenerationId);
        Assert.Equal([Tp(Topic, 0)], final[Consumer3]);
        Assert.True(CooperativeRounds.FullyBalanced(final));
    }

    [Fact]
    public void A_partition_claimed_twice_in_one_generation_is_invalidated_unequal_quota()
    {
        var cluster = ClusterOf((Topic, 4));
        var subscriptions = new Dictionary<string, ConsumerSubscription>
        {
            [Consumer1] = Owning(GenerationId, [Topic], Tp(Topic, 0), Tp(Topic, 1)),
            [Consumer2] = Owning(GenerationId, [Topic], Tp(Topic, 0), Tp(Topic, 2)),
            [Consumer3] = Owning(GenerationId, [Topic]),
        };
        var first = Run(_assignor, cluster, subscriptions);
        Assert.Equal([Tp(Topic, 1), Tp(Topic, 3)], first[Consumer1]);
        Assert.Equal([Tp(Topic, 2)], first[Consumer2]);
        Assert.Empty(first[Consumer3]);
        Assert.True(CooperativeRounds.FullyBalanced(CooperativeRounds.Converge(_assignor, cluster, subscriptions, GenerationId).Final));
    }

    [Fact]
    public void Old_members_report_their_generation_in_user_data()
    {
        // Subscription version 1: owned partitions, and the generation only in the assignor's user data.
        var userData = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(userData, GenerationId);
        var cluster = ClusterOf((Topic1, 3));
        var subscriptions = new Dictionary<string, ConsumerSubscription>
        {
            [Consumer1] = new([Topic1]) { OwnedPartitions = [Tp(Topic1, 0)], UserData = userData },
            [Consumer2] = new([Topic1]) { OwnedPartitions = [Tp(Topic1, 1)], UserData = userData },
            [Consumer3] = Owning(GenerationId, [Topic1]),
        };
        var result = Run(_assignor, cluster, subscriptions);
        Assert.Equal([Tp(Topic1, 0)], result[Consumer1]);
        Assert.Equal([Tp(Topic1, 1)], result[Consumer2]);
        Assert.Equal([Tp(Topic1, 2)], result[Consumer3]);
    }

    [Fact]
    public void Mixed_topic_subscriptions_use_the_general_algorithm()
    {
        var result = Run(_assignor, ClusterOf((Topic1, 3), (Topic2, 2)), new Dictionary<string, ConsumerSubscription>
        {
            [Consumer1] = Sub(Topic1),
            [Consumer2] = Sub(Topic1, Topic2),
            [Consumer3] = Sub(Topic1),
        });
        Assert.Equal([Tp(Topic1, 0), Tp(Topic1, 2)], result[Consumer1]);
        Assert.Equal([Tp(Topic2, 0), Tp(Topic2, 1)], result[Consumer2]);
        Assert.Equal([Tp(Topic1, 1)], result[Consumer3]);
    }

    [Fact]
    public void Two_consumers_two_topics_six_partitions()
    {
        var result = Run(_assignor, ClusterOf((Topic1, 3), (Topic2, 3)), new Dictionary<string, ConsumerSubscription>
        {
            [Consumer1] = Sub(Topic1, Topic2),
            [Consumer2] = Sub(Topic1, Topic2),
        });
        Assert.Equal([Tp(Topic1, 0), Tp(Topic1, 2), Tp(Topic2, 1)], result[Consumer1]);
        Assert.Equal([Tp(Topic1, 1), Tp(Topic2, 0), Tp(Topic2, 2)], result[Consumer2]);
    }

    [Fact]
    public void A_consumer_owning_min_quota_gets_the_extra_partition()
    {
        var result = Run(_assignor, ClusterOf((Topic1, 2), (Topic2, 3)), new Dictionary<string, ConsumerSubscription>
        {
            [Consumer1] = Owning(GenerationId, [Topic1, Topic2], Tp(Topic1, 0), Tp(Topic2, 1)),
            [Consumer2] = Owning(GenerationId, [Topic1, Topic2], Tp(Topic1, 1), Tp(Topic2, 2)),
        });
        Assert.Equal([Tp(Topic1, 0), Tp(Topic2, 1), Tp(Topic2, 0)], result[Consumer1]);
        Assert.Equal([Tp(Topic1, 1), Tp(Topic2, 2)], result[Consumer2]);
    }

    [Fact]
    public void More_members_at_max_quota_than_wanted_revoke_one_partition_first()
    {
        var cluster = ClusterOf((Topic1, 2), (Topic2, 2));
        var subscriptions = new Dictionary<string, ConsumerSubscription>
        {
            [Consumer1] = Owning(GenerationId, [Topic1, Topic2], Tp(Topic1, 0), Tp(Topic2, 0)),
            [Consumer2] = Owning(GenerationId, [Topic1, Topic2], Tp(Topic1, 1), Tp(Topic2, 1)),
            [Consumer3] = Owning(GenerationId, [Topic1, Topic2]),
        };

        // Java walks consumer2 before consumer1, so consumer2 keeps its two and consumer1 revokes topic2-0, which
        // consumer3 gets only in the next round.
        var first = Run(_assignor, cluster, subscriptions);
        Assert.Equal([Tp(Topic1, 0)], first[Consumer1]);
        Assert.Equal([Tp(Topic1, 1), Tp(Topic2, 1)], first[Consumer2]);
        Assert.Empty(first[Consumer3]);

        var (final, rounds) = CooperativeRounds.Converge(_assignor, cluster, subscriptions, GenerationId);
        Assert.Equal(2, rounds);
        Assert.Equal([Tp(Topic1, 0)], final[Consumer1]);
        Assert.Equal([Tp(Topic1, 1), Tp(Topic2, 1)], final[Consumer2]);
        Assert.Equal([Tp(Topic2, 0)], final[Consumer3]);
    }

    [Fact]
    public void All_consumers_under_min_quota_keep_theirs_and_fill_up()
    {
        var result = Run(_assignor, ClusterOf((Topic1, 2), (Topic2, 3)), new Dictionary<string, ConsumerSubscription>
        {
            [Consumer1] = Owning(GenerationId, [Topic1, Topic2], Tp(Topic1, 0)),
            [Consumer2] = Owning(GenerationId, [Topic1, Topic2], Tp(Topic1, 1)),
            [Consumer3] = Owning(GenerationId, [Topic1, Topic2]),
        });
        Assert.Equal([Tp(Topic1, 0), Tp(Topic2, 1)], result[Consumer1]);
        Assert.Equal([Tp(Topic1, 1), Tp(Topic2, 2)], result[Consumer2]);
        Assert.Equal([Tp(Topic2, 0)], result[Consumer3]);
    }

    [Fact]
    public void Add_then_remove_a_consumer_on_one_topic()
    {
        var cluster = ClusterOf((Topic, 3));
        var subscriptions = new Dictionary<string, ConsumerSubscription> { [Consumer1] = Sub(Topic) };
        var result = Run(_assignor, cluster, subscriptions);
        Assert.Equal([Tp(Topic, 0), Tp(Topic, 1), Tp(Topic, 2)], result[Consumer1]);

        subscriptions[Consumer1] = Owning(GenerationId, [Topic], [.. result[Consumer1]]);
        subscriptions[Consumer2] = Owning(GenerationId, [Topic]);
        result = Run(_assignor, cluster, subscriptions);
        Assert.Equal([Tp(Topic, 0), Tp(Topic, 1)], result[Consumer1]);
        Assert.Empty(result[Consumer2]); // topic-2 is revoked first

        var (final, _) = CooperativeRounds.Converge(_assignor, cluster, subscriptions, GenerationId);
        Assert.Equal([Tp(Topic, 0), Tp(Topic, 1)], final[Consumer1]);
        Assert.Equal([Tp(Topic, 2)], final[Consumer2]);

        subscriptions.Remove(Consumer1);
        subscriptions[Consumer2] = Owning(GenerationId + 1, [Topic], [.. final[Consumer2]]);
        result = Run(_assignor, cluster, subscriptions);
        Assert.Equal(new HashSet<TopicPartition> { Tp(Topic, 0), Tp(Topic, 1), Tp(Topic, 2) }, result[Consumer2].ToHashSet());
    }

    [Fact]
    public void All_consumers_reach_their_quota_and_count_as_filled()
    {
        var result = Run(_assignor, ClusterOf((Topic, 4)), new Dictionary<string, ConsumerSubscription>
        {
            [Consumer1] = Owning(GenerationId, [Topic], Tp(Topic, 0), Tp(Topic, 1)),
            [Consumer2] = Owning(GenerationId, [Topic], Tp(Topic, 2)),
            [Consumer3] = Owning(GenerationId, [Topic]),
        });
        Assert.Equal([Tp(Topic, 0), Tp(Topic, 1)], result[Consumer1]);
        Assert.Equal([Tp(Topic, 2)], result[Consumer2]);
        Assert.Equal([Tp(Topic, 3)], result[Consumer3]);
    }

    [Theory]
    [InlineData(9)]
    [InlineData(-1)]
    public void Claims_of_a_stale_or_unknown_generation_lose_to_the_current_one(int staleGeneration)
    {
        var cluster = ClusterOf((Topic, 3), (Topic2, 3));
        var subscriptions = new Dictionary<string, ConsumerSubscription>
        {
            [Consumer1] = Owning(10, [Topic, Topic2], Tp(Topic, 0), Tp(Topic, 2), Tp(Topic2, 1)),
            [Consumer2] = Owning(staleGeneration, [Topic, Topic2], Tp(Topic, 0), Tp(Topic, 2), Tp(Topic2, 1)),
        };
        var result = Run(_assignor, cluster, subscriptions);
        Assert.Equal(new HashSet<TopicPartition> { Tp(Topic, 0), Tp(Topic, 2), Tp(Topic2, 1) }, result[Consumer1].ToHashSet());
        Assert.Equal(new HashSet<TopicPartition> { Tp(Topic, 1), Tp(Topic2, 0), Tp(Topic2, 2) }, result[Consumer2].ToHashSet());
    }

    [Fact]
    public void Partitions_go_to_the_member_with_the_highest_generation()
    {
        var cluster = ClusterOf((Topic, 3), (Topic2, 3), (Topic3, 3));
        string[] topics = [Topic, Topic2, Topic3];
        var subscriptions = new Dictionary<string, ConsumerSubscription>
        {
            [Consumer1] = Owning(10, topics, Tp(Topic, 0), Tp(Topic2, 0), Tp(Topic3, 0)),
            [Consumer2] = Owning(9, topics, Tp(Topic, 1), Tp(Topic2, 1), Tp(Topic3, 1)),
            [Consumer3] = Owning(8, topics, Tp(Topic2, 1), Tp(Topic3, 0), Tp(Topic3, 2)),
        };
        var result = Run(_assignor, cluster, subscriptions);
        Assert.Equal(new HashSet<TopicPartition> { Tp(Topic, 0), Tp(Topic2, 0), Tp(Topic3, 0) }, result[Consumer1].ToHashSet());
        Assert.Equal(new HashSet<TopicPartition> { Tp(Topic, 1), Tp(Topic2, 1), Tp(Topic3, 1) }, result[Consumer2].ToHashSet());
        Assert.Equal(new HashSet<TopicPartition> { Tp(Topic, 2), Tp(Topic2, 2), Tp(Topic3, 2) }, result[Consumer3].ToHashSet());
    }

    [Fact]
    public void Current_members_keep_their_partitions_and_the_new_one_gets_the_rest()
    {
        var cluster = ClusterOf((Topic, 3), (Topic1, 3), (Topic2, 3), (Topic3, 3));
        string[] topics = [Topic, Topic2, Topic3, Topic1];
        var subscriptions = new Dictionary<string, ConsumerSubscription>
        {
            [Consumer1] = Owning(-1, topics),
            [Consumer2] = Owning(9, topics, Tp(Topic, 0), Tp(Topic2, 0), Tp(Topic1, 0)),
            [Consumer3] = Owning(8, topics, Tp(Topic3, 2), Tp(Topic2, 2), Tp(Topic1, 1)),
            [Consumer4] = Owning(7, topics, Tp(Topic3, 1), Tp(Topic, 1), Tp(Topic, 2)),
        };
        var result = Run(_assignor, cluster, subscriptions);
        Assert.Equal(new HashSet<TopicPartition> { Tp(Topic1, 2), Tp(Topic2, 1), Tp(Topic3, 0) }, result[Consumer1].ToHashSet());
        Assert.False(CooperativeRounds.AnyRevoked(subscriptions, result));
    }

    [Fact]
    public void Claims_from_two_generations_are_settled_for_the_newer()
    {
        var result = Run(_assignor, ClusterOf((Topic, 3), (Topic2, 3)), new Dictionary<string, ConsumerSubscription>
        {
            [Consumer1] = Owning(10, [Topic, Topic2], Tp(Topic, 0), Tp(Topic2, 1), Tp(Topic, 1)),
            [Consumer2] = Owning(8, [Topic, Topic2], Tp(Topic, 0), Tp(Topic2, 1), Tp(Topic2, 2)),
        });
        Assert.Equal(new HashSet<TopicPartition> { Tp(Topic, 0), Tp(Topic2, 1), Tp(Topic, 1) }, result[Consumer1].ToHashSet());
        Assert.Equal(new HashSet<TopicPartition> { Tp(Topic, 2), Tp(Topic2, 2), Tp(Topic2, 0) }, result[Consumer2].ToHashSet());
    }

    [Fact]
    public void Unequal_subscriptions_with_three_generations_stay_disjoint_and_balanced()
    {
        var cluster = ClusterOf((Topic, 6), (Topic1, 1));
        int[][] sequences = [[1, 2, 3], [1, 3, 2], [2, 1, 3], [2, 3, 1], [3, 1, 2], [3, 2, 1]];
        foreach (int[] g in sequences)
        {
            var result = Run(_assignor, cluster, new Dictionary<string, ConsumerSubscription>
            {
                [Consumer1] = Owning(g[0], [Topic], Tp(Topic, 0), Tp(Topic, 2)),
                [Consumer2] = Owning(g[1], [Topic], Tp(Topic, 1), Tp(Topic, 2), Tp(Topic, 3)),
                [Consumer3] = Owning(g[2], [Topic], Tp(Topic, 2), Tp(Topic, 4), Tp(Topic, 5)),
                [Consumer4] = Owning(2, [Topic1], Tp(Topic1, 0)),
            });
            var all = result.Values.SelectMany(l => l).ToList();
            Assert.Equal(all.Count, all.Distinct().Count());
            Assert.All(result.Values, l => Assert.InRange(l.Count, 1, 2));
        }
    }

    [Fact]
    public void A_subscription_change_revokes_partitions_of_a_dropped_topic_before_reassigning_them()
    {
        var cluster = ClusterOf((Topic1, 2), (Topic2, 2));
        var subscriptions = new Dictionary<string, ConsumerSubscription>
        {
            [Consumer1] = Owning(GenerationId, [Topic1], Tp(Topic1, 0), Tp(Topic2, 0)),
            [Consumer2] = Owning(GenerationId, [Topic1, Topic2], Tp(Topic1, 1), Tp(Topic2, 1)),
        };

        // consumer1 no longer subscribes to topic2: it must give topic2-0 up before consumer2 may take it.
        var first = Run(_assignor, cluster, subscriptions);
        Assert.Equal([Tp(Topic1, 0)], first[Consumer1]);
        Assert.DoesNotContain(Tp(Topic2, 0), first[Consumer2]);

        var (final, _) = CooperativeRounds.Converge(_assignor, cluster, subscriptions, GenerationId);
        Assert.Contains(Tp(Topic2, 0), final[Consumer2]);
    }
}
