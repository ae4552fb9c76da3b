using System.Buffers.Binary;

namespace Messaging.Rpc.Tests.Client;

/// <summary>The reply partition a request names: the one partition, or one of every partition the client reads.</summary>
public sealed class ReplyRouteTests
{
    [Fact]
    public void Reading_every_partition_each_call_names_one_of_those_read_and_added_ones_once_they_are_read()
    {
        var route = ReplyRoute.AllPartitions("replies", 2);
        Assert.Equal([0, 1], NamedBy(route));

        var grown = route.WithPartitions(4);
        Assert.Equal([0, 1, 2, 3], NamedBy(grown));
        Assert.Equal([0, 1], NamedBy(route)); // the route calls already took is unchanged
        Assert.Same(grown, grown.WithPartitions(3)); // a count that is not news changes nothing
        Assert.Equal(-1, grown.Partition);
        Assert.Same(route.TopicBytes, grown.TopicBytes);
    }

    [Fact]
    public void A_route_to_one_partition_names_it_in_every_call_whatever_the_topic_grows_to()
    {
        var route = new ReplyRoute("replies", 3);

        Assert.Same(route, route.WithPartitions(8));
        Assert.Equal([3], NamedBy(route));
        Assert.Equal(3, route.Partition);
    }

    [Fact]
    public void A_call_names_the_same_partition_every_time_it_is_sent()
    {
        var route = ReplyRoute.AllPartitions("replies", 4);
        var id = Guid.NewGuid().ToByteArray();

        Assert.Same(route.PartitionBytes(id), route.PartitionBytes(id)); // retries and hedges carry the call's correlation ID
    }

    /// <summary>The partitions 1,000 random correlation IDs name, in order.</summary>
    private static int[] NamedBy(ReplyRoute route)
    {
        var named = new SortedSet<int>();
        for (var i = 0; i < 1000; i++)
        {
            named.Add(BinaryPrimitives.ReadInt32BigEndian(route.PartitionBytes(Guid.NewGuid().ToByteArray())));
        }

        return [.. named];
    }
}
