using Messaging.Core.Tests.Connection;
using Messaging.Protocol.Messages;

namespace Messaging.Core.Tests.Admin;

/// <summary>
/// <see cref="KafkaAdminClient.ListOffsetsAsync"/> finds the partitions' leaders in Metadata requests of their own:
/// the topics do not join the admin client's later metadata refreshes (a lag monitor looks up every topic in turn; a
/// topic deleted since would be named, and with auto-creation created again, by every later refresh).
/// </summary>
public sealed class ListOffsetsMetadataTests
{
    /// <summary>Topic <c>orders</c>, one partition led by broker 1 (<c>broker1.test:9092</c>).</summary>
    internal static readonly MetadataResponse Answer = new()
    {
        Brokers = [new() { NodeId = 1, Host = "broker1.test", Port = 9092 }],
        ClusterId = "in-memory",
        ControllerId = 1,
        Topics = [new() { Name = "orders", TopicId = Guid.NewGuid(), Partitions = [new() { PartitionIndex = 0, LeaderId = 1, LeaderEpoch = 0, ReplicaNodes = [1], IsrNodes = [1] }] }],
    };

    [Fact(Timeout = 30_000)]
    public async Task A_topic_whose_offsets_were_listed_is_not_named_by_the_admin_clients_later_metadata_refreshes()
    {
        var ct = TestContext.Current.CancellationToken;
        var broker = new InMemoryBroker { OnMetadata = (_, _) => Answer };
        await using var admin = new KafkaAdminClient(new KafkaAdminOptions { BootstrapServers = "broker1.test:9092", TransportFactory = broker });
        var partition = new TopicPartition("orders", 0);

        var offsets = await admin.ListOffsetsAsync([new(partition, OffsetSpec.Latest)], cancellationToken: ct);
        Assert.Equal(42, offsets[partition].Offset);

        var before = broker.MetadataTopics.Count;
        await admin.DescribeClusterAsync(ct);
        var refresh = broker.MetadataTopics.Skip(before).Last();
        Assert.NotNull(refresh);
        Assert.DoesNotContain("orders", refresh);
    }
}
