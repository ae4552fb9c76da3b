using Messaging.Groups;
using static Messaging.Core.Tests.Groups.AssignorFixtures;

namespace Messaging.Core.Tests.Groups;

/// <summary>The range assignor against the results the Java client's RangeAssignorTest expects for the same inputs.</summary>
public sealed class RangeAssignorTests
{
    private readonly RangeAssignor _assignor = new();

    [Fact]
    public void Name_and_protocols_are_javas()
    {
        Assert.Equal("range", _assignor.Name);
        Assert.Equal([RebalanceProtocol.Eager], _assignor.SupportedProtocols);
        Assert.Null(_assignor.GetSubscriptionUserData([Topic]));
    }

    [Fact]
    public void One_consumer_without_topics_gets_an_empty_assignment()
    {
        var result = Run(_assignor, ClusterOf(), new Dictionary<string, ConsumerSubscription> { [Consumer1] = Sub() });
        Assert.Equal([Consumer1], result.Keys);
        Assert.Empty(result[Consumer1]);
    }

    [Fact]
    public void One_consumer_gets_only_its_subscribed_topics()
    {
        var result = Run(_assignor, ClusterOf((Topic, 3), ("otherTopic", 3)), new Dictionary<string, ConsumerSubscription> { [Consumer1] = Sub(Topic) });
        Assert.Equal([Tp(Topic, 0), Tp(Topic, 1), Tp(Topic, 2)], result[Consumer1]);
    }

    [Fact]
    public void One_consumer_multiple_topics()
    {
        var result = Run(_assignor, ClusterOf((Topic1, 1), (Topic2, 2)), new Dictionary<string, ConsumerSubscription> { [Consumer1] = Sub(Topic1, Topic2) });
        Assert.Equal([Tp(Topic1, 0), Tp(Topic2, 0), Tp(Topic2, 1)], result[Consumer1]);
    }

    [Fact]
    public void Two_consumers_one_topic_one_partition()
    {
        var result = Run(_assignor, ClusterOf((Topic, 1)), new Dictionary<string, ConsumerSubscription> { [Consumer1] = Sub(Topic), [Consumer2] = Sub(Topic) });
        Assert.Equal([Tp(Topic, 0)], result[Consumer1]);
        Assert.Empty(result[Consumer2]);
    }

    [Fact]
    public void Two_consumers_two_topics_six_partitions()
    {
        var result = Run(_assignor, ClusterOf((Topic1, 3), (Topic2, 3)), new Dictionary<string, ConsumerSubscription>
        {
            [Consumer2] = Sub(Topic1, Topic2),
            [Consumer1] = Sub(Topic2, Topic1),
        });
        Assert.Equal([Tp(Topic1, 0), Tp(Topic1, 1), Tp(Topic2, 0), Tp(Topic2, 1)], result[Consumer1]);
        Assert.Equal([Tp(Topic1, 2), Tp(Topic2, 2)], result[Consumer2]);
    }

    [Fact]
    public void Static_members_are_ordered_by_instance_id_not_member_id()
    {
        var result = Run(_assignor, ClusterOf((Topic1, 3), (Topic2, 3)), new Dictionary<string, ConsumerSubscription>
        {
            ["consumer-b"] = Static("instance1", Topic1, Topic2),
            ["consumer-a"] = Static("instance2", Topic1, Topic2),
        });
        Assert.Equal([Tp(Topic1, 0), Tp(Topic1, 1), Tp(Topic2, 0), Tp(Topic2, 1)], result["consumer-b"]);
        Assert.Equal([Tp(Topic1, 2), Tp(Topic2, 2)], result["consumer-a"]);
    }

    [Fact]
    public void A_static_member_comes_before_a_dynamic_one()
    {
        var result = Run(_assignor, ClusterOf((Topic1, 3), (Topic2, 3)), new Dictionary<string, ConsumerSubscription>
        {
            ["consumer-b"] = Static("instance1", Topic1, Topic2),
            ["consumer-a"] = Sub(Topic1, Topic2),
        });
        Assert.Equal([Tp(Topic1, 0), Tp(Topic1, 1), Tp(Topic2, 0), Tp(Topic2, 1)], result["consumer-b"]);
        Assert.Equal([Tp(Topic1, 2), Tp(Topic2, 2)], result["consumer-a"]);
    }

    [Fact]
    public void Static_assignment_persists_when_a_dynamic_member_is_replaced()
    {
        var cluster = ClusterOf((Topic1, 5), (Topic2, 4));
        var subscriptions = new Dictionary<string, ConsumerSubscription>
        {
            [Consumer1] = Static("instance1", Topic1, Topic2),
            [Consumer2] = Static("instance2", Topic1, Topic2),
            [Consumer3] = Static("instance3", Topic1, Topic2),
            ["consumer4"] = Sub(Topic1, Topic2),
        };
        var result = Run(_assignor, cluster, subscriptions);
        Assert.Equal([Tp(Topic1, 0), Tp(Topic1, 1), Tp(Topic2, 0)], result[Consumer1]);
        Assert.Equal([Tp(Topic1, 2), Tp(Topic2, 1)], result[Consumer2]);
        Assert.Equal([Tp(Topic1, 3), Tp(Topic2, 2)], result[Consumer3]);
        Assert.Equal([Tp(Topic1, 4), Tp(Topic2, 3)], result["consumer4"]);

        subscriptions.Remove("consumer4");
        subscriptions["consumer5"] = Sub(Topic1, Topic2);
        var after = Run(_assignor, cluster, subscriptions);
        Assert.Equal(result[Consumer1], after[Consumer1]);
        Assert.Equal(result[Consumer2], after[Consumer2]);
        Assert.Equal(result[Consumer3], after[Consumer3]);
        Assert.Equal([Tp(Topic1, 4), Tp(Topic2, 3)], after["consumer5"]);
    }

    [Fact]
    public void Static_assignment_persists_when_member_ids_change()
    {
        var cluster = ClusterOf((Topic1, 5), (Topic2, 5));
        var subscriptions = new Dictionary<string, ConsumerSubscription>
        {
            [Consumer1] = Static("instance1", Topic1, Topic2),
            [Consumer2] = Static("instance2", Topic1, Topic2),
            [Consumer3] = Static("instance3", Topic1, Topic2),
        };
        var byInstance = ByInstance(subscriptions);
        Assert.Equal([Tp(Topic1, 0), Tp(Topic1, 1), Tp(Topic2, 0), Tp(Topic2, 1)], byInstance["instance1"]);
        Assert.Equal([Tp(Topic1, 2), Tp(Topic1, 3), Tp(Topic2, 2), Tp(Topic2, 3)], byInstance["instance2"]);
        Assert.Equal([Tp(Topic1, 4), Tp(Topic2, 4)], byInstance["instance3"]);

        subscriptions["consumer4"] = subscriptions[Consumer3];
        subscriptions.Remove(Consumer3);
        subscriptions["consumer5"] = subscriptions[Consumer2];
        subscriptions.Remove(Consumer2);
        Assert.Equal(byInstance, ByInstance(subscriptions));

        Dictionary<string, List<TopicPartition>> ByInstance(Dictionary<string, ConsumerSubscription> subs) =>
            Run(_assignor, cluster, subs).ToDictionary(e => subs[e.Key].GroupInstanceId!, e => e.Value, StringComparer.Ordinal);
    }

    [Fact]
    public void Subscriptions_listed_in_any_dictionary_order_give_the_same_result()
    {
        var cluster = ClusterOf((Topic1, 7), (Topic2, 4));
        var forward = new Dictionary<string, ConsumerSubscription>();
        var backward = new Dictionary<string, ConsumerSubscription>();
        string[] members = ["m3", "m1", "m2", "m0"];
        foreach (var m in members)
        {
            forward[m] = Sub(Topic1, Topic2);
        }

        foreach (var m in members.Reverse())
        {
            backward[m] = Sub(Topic2, Topic1);
        }

        Assert.Equal(Run(_assignor, cluster, forward), Run(_assignor, cluster, backward));
        Assert.Equal([Tp(Topic1, 0), Tp(Topic1, 1), Tp(Topic2, 0)], Run(_assignor, cluster, forward)["m0"]);
    }
}
