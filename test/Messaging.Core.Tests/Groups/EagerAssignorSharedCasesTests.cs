using Messaging.Groups;
using static Messaging.Core.Tests.Groups.AssignorFixtures;

namespace Messaging.Core.Tests.Groups;

/// <summary>Cases for which the Java client's RangeAssignorTest and RoundRobinAssignorTest expect the same result.</summary>
public sealed class EagerAssignorSharedCasesTests
{
    public static TheoryData<string> Assignors => new() { RangeAssignor.AssignorName, RoundRobinAssignor.AssignorName };

    private static IConsumerPartitionAssignor Create(string name) =>
        name == RangeAssignor.AssignorName ? new RangeAssignor() : new RoundRobinAssignor();

    [Theory]
    [MemberData(nameof(Assignors))]
    public void A_topic_missing_from_the_cluster_is_skipped(string assignor)
    {
        var result = Run(Create(assignor), ClusterOf(), new Dictionary<string, ConsumerSubscription> { [Consumer1] = Sub(Topic) });
        Assert.Empty(result[Consumer1]);
    }

    [Theory]
    [MemberData(nameof(Assignors))]
    public void Two_consumers_one_topic_two_partitions(string assignor)
    {
        var result = Run(Create(assignor), ClusterOf((Topic, 2)), new Dictionary<string, ConsumerSubscription> { [Consumer1] = Sub(Topic), [Consumer2] = Sub(Topic) });
        Assert.Equal([Tp(Topic, 0)], result[Consumer1]);
        Assert.Equal([Tp(Topic, 1)], result[Consumer2]);
    }

    [Theory]
    [MemberData(nameof(Assignors))]
    public void Multiple_consumers_mixed_topics_skip_members_not_subscribed(string assignor)
    {
        var result = Run(Create(assignor), ClusterOf((Topic1, 3), (Topic2, 2)), new Dictionary<string, ConsumerSubscription>
        {
            [Consumer1] = Sub(Topic1),
            [Consumer2] = Sub(Topic1, Topic2),
            [Consumer3] = Sub(Topic1),
        });
        Assert.Equal([Tp(Topic1, 0)], result[Consumer1]);
        Assert.Equal([Tp(Topic1, 1), Tp(Topic2, 0), Tp(Topic2, 1)], result[Consumer2]);
        Assert.Equal([Tp(Topic1, 2)], result[Consumer3]);
    }
}
