using Messaging.Cluster;
using Messaging.Core.Tests.Connection;
using Messaging.Protocol.Messages;

namespace Messaging.Core.Tests.Cluster;

/// <summary>
/// Metadata comes from any broker the client can reach: when the bootstrap servers are down (a bootstrap list of
/// one broker, which is restarting), the brokers the last metadata named are asked instead.
/// </summary>
public sealed class BootstrapDownRefreshTests
{
    private static MetadataResponse Answer() => new()
    {
        Brokers = [new() { NodeId = 1, Host = "broker1.test", Port = 9092 }, new() { NodeId = 2, Host = "broker2.test", Port = 9092 }],
        ClusterId = "in-memory",
        ControllerId = 2,
        Topics =
        [
            new()
            {
                Name = "orders",
                TopicId = Guid.Parse("11111111-1111-1111-1111-111111111111"),
                Partitions = [new() { PartitionIndex = 0, LeaderId = 2, LeaderEpoch = 3, ReplicaNodes = [1, 2], IsrNodes = [1, 2] }],
            },
        ],
    };

    [Fact(Timeout = 10_000)]
    public async Task With_the_only_bootstrap_server_down_a_refresh_asks_a_broker_the_metadata_named()
    {
        var ct = TestContext.Current.CancellationToken;
        var broker = new InMemoryBroker { OnMetadata = (_, _) => Answer() };
        await using var cluster = new ClusterClient(new KafkaClientOptions { BootstrapServers = "broker1.test:9092", TransportFactory = broker });
        cluster.Metadata.AddTopics(["orders"]);
        await cluster.Metadata.RefreshAsync(ct);
        var bootstrapConnection = await cluster.GetAnyAsync(ct);

        // Broker 1, the only bootstrap server, goes down: its connection drops and new connects are refused.
        broker.Down["broker1.test"] = true;
        foreach (var transport in broker.Opened)
        {
            transport.Close();
        }

        await bootstrapConnection.Closed.WaitAsync(ct);

        var fresh = await cluster.Metadata.RefreshAsync(ct);
        Assert.True(fresh.TryGetLeader("orders", 0, out var leader, out _));
        Assert.Equal(2, leader);
        Assert.Contains(broker.Opened, t => t.Host == "broker2.test");
    }
}
