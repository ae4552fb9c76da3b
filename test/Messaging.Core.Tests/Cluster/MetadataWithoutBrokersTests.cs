using Messaging.Cluster;
using Messaging.Core.Tests.Connection;
using Messaging.Protocol.Messages;

namespace Messaging.Core.Tests.Cluster;

/// <summary>
/// A broker that is starting up answers Metadata before it knows the cluster: no brokers (and its topics unknown). As
/// in the Java client, that answer is no news about the cluster: the refresh fails retriably and the metadata the
/// client had stays, rather than every broker "leaving" (their idle connections closed) and every partition losing
/// its leader until the next refresh.
/// </summary>
public sealed class MetadataWithoutBrokersTests
{
    private static readonly MetadataResponse Known = new()
    {
        Brokers = [new() { NodeId = 1, Host = "broker1.test", Port = 9092 }],
        ClusterId = "in-memory",
        ControllerId = 1,
        Topics = [new() { Name = "orders", TopicId = Guid.NewGuid(), Partitions = [new() { PartitionIndex = 0, LeaderId = 1, LeaderEpoch = 3, ReplicaNodes = [1], IsrNodes = [1] }] }],
    };

    private static readonly MetadataResponse Starting = new()
    {
        Brokers = [],
        ControllerId = -1,
        Topics = [new() { Name = "orders", ErrorCode = ErrorCode.UnknownTopicOrPartition }],
    };

    [Fact(Timeout = 10_000)]
    public async Task An_answer_naming_no_brokers_fails_the_refresh_retriably_and_keeps_the_metadata_the_client_had()
    {
        var ct = TestContext.Current.CancellationToken;
        var broker = new InMemoryBroker { OnMetadata = (_, n) => n == 1 ? Known : Starting };
        await using var cluster = new ClusterClient(new KafkaClientOptions { BootstrapServers = "broker1.test:9092", TransportFactory = broker });
        cluster.Metadata.AddTopics(["orders"]);
        var known = await cluster.Metadata.RefreshAsync(ct);
        Assert.True(known.TryGetLeader("orders", 0, out _, out _));
        var connection = await cluster.Connections.GetAsync(1, ct);

        var error = await Assert.ThrowsAnyAsync<KafkaException>(() => cluster.Metadata.RefreshAsync(ct));
        Assert.True(error.IsRetriable, error.Message);

        var current = cluster.Metadata.Current;
        Assert.Same(known, current);
        Assert.True(current.TryGetLeader("orders", 0, out var leader, out _));
        Assert.True(current.HasRoutableLeader(current.Topics["orders"].Partitions[0]), "the partition's leader is no longer routable");
        Assert.Equal(1, leader);
        Assert.True(cluster.Connections.IsKnown(1), "broker 1 was dropped from the client's connections");
        Assert.True(connection.IsOpen, "the connection to broker 1 was closed: " + connection.Failure?.Message);
    }
}
