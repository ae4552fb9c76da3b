using Messaging.Groups;
using static Messaging.Core.Tests.Groups.AssignorFixtures;

namespace Messaging.Core.Tests.Groups;

/// <summary>The round-robin assignor against the results the Java client's RoundRobinAssignorTest expects.</summary>
public sealed class RoundRobinAssignorTests
{
    private readonly RoundRobinAssignor _assignor = new();

    [Fact]
    public void Name_and_protocols_are_javas()
    {
        Assert.Equal("roundrobin", _assignor.Name);
        Assert.Equal([RebalanceProtocol.Eager], _assignor.SupportedProtocols);
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
    public void Static_members_are_ordered_by_instance_id_not_member_id()
    {
        var result = Run(_assignor, ClusterOf((Topic1, 3), (Topic2, 3)), new Dictionary<string, ConsumerSubscription>
        {
            ["consumer-b"] = Static("instance1", Topic1, Topic2),
            ["consumer-a"] = Static("instance2", Topic1, Topic2),
        });
        Assert.Equal([Tp(Topic1, 0), Tp(Topic1, 2), Tp(Topic2, 1)], result["consumer-b"]);
        Assert.Equal([Tp(Topic1, 1), Tp(Topic2, 0), Tp(Topic2, 2)], result["consumer-a"]);
    }

    [Fact]
    public void Static_assignment_persists_when_a_dynamic_member_is_replaced()
    {
        var cluster = ClusterOf((Topic1, 3), (Topic2, 3));
        var subscriptions = new Dictionary<string, ConsumerSubscription>
        {
            [Consumer1] = Static("instance1", Topic1, Topic2),
            [Consumer2] = Static("instance2", Topic1, Topic2),
            [Consumer3] = Static("instance3", Topic1, Topic2),
            ["consumer4"] = Sub(Topic1, Topic2),
        };
        var expected = new Dictionary<string, List<TopicPartition>>
        {
            [Consumer1] = [Tp(Topic1, 0), Tp(Topic2, 1)],
            [Consumer2] = [Tp(Topic1, 1), Tp(Topic2, 2)],
            [Consumer3] = [Tp(Topic1, 2)],
            ["consumer4"] = [Tp(Topic2, 0)],
        };
        Assert.Equal(expected, Run(_assignor, cluster, subscriptions));

        subscriptions.Remove("consumer4");
        subscriptions["consumer5"] = Sub(Topic1, Topic2);
        expected.Remove("consumer4");
        expected["consumer5"] = [Tp(Topic2, 0)];
        Assert.Equal(expected, Run(_assignor, cluster, subscriptions));
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
        var expected = new Dictionary<string, List<TopicPartition>>
        {
            ["instance1"] = [Tp(Topic1, 0), Tp(Topic1, 3), Tp(Topic2, 1), Tp(Topic2, 4)],
            ["instance2"] = [Tp(Topic1, 1), Tp(Topic1, 4), Tp(Topic2, 2)],
            ["instance3"] = [Tp(Topic1, 2), Tp(Topic2, 0), Tp(Topic2, 3)],
        };
        Assert.Equal(expected, ByInstance(subscriptions));

        subscriptions["consumer4"] = subscriptions[Consumer3];
        subscriptions.Remove(Consumer3);
        subscriptions["consumer5"] = subscriptions[Consumer2];
        subscriptions.Remove(Consumer2);
        Assert.Equal(expected, ByInstance(subscriptions));

        Dictionary<string, List<TopicPartition>> ByInstance(Dictionary<string, ConsumerSubscription> subs) =>
            Run(_assignor, cluster, subs).ToDictionary(e => subs[e.Key].GroupInstanceId!, e => e.Value, StringComparer.Ordinal);
    }
}
