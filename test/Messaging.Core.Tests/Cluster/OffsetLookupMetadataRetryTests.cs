using Messaging.Cluster;
using Messaging.Core.Tests.Connection;
using Messaging.Protocol.Messages;

namespace Messaging.Core.Tests.Cluster;

/// <summary>
/// An offset lookup retries what fails retriably within its retry window — the first metadata fetch included: a
/// broker restarting when the lookup starts costs a few backoffs, not the call.
/// </summary>
public sealed class OffsetLookupMetadataRetryTests
{
    private static MetadataResponse Answer() => new()
    {
        Brokers = [new() { NodeId = 1, Host = "broker1.test", Port = 9092 }],
        ClusterId = "in-memory",
        ControllerId = 1,
        Topics =
        [
            new()
            {
                Name = "orders",
                TopicId = Guid.Parse("11111111-1111-1111-1111-111111111111"),
                Partitions = [new() { PartitionIndex = 0, LeaderId = 1, LeaderEpoch = 0, ReplicaNodes = [1], IsrNodes = [1] }],
            },
        ],
    };

    [Fact(Timeout = 20_000)]
    public async Task A_lookup_whose_first_metadata_fetch_fails_retriably_retries_it_within_its_window()
    {
        var ct = TestContext.Current.CancellationToken;
        var broker = new InMemoryBroker { OnMetadata = (_, _) => Answer(), RefuseConnects = 1 }; // the first connect is refused
        await using var cluster = new ClusterClient(new KafkaClientOptions { BootstrapServers = "broker1.test:9092", TransportFactory = broker });
        var lookup = new OffsetLookup(cluster, retryBackoff: TimeSpan.FromMilliseconds(20));
        var partition = new TopicPartition("orders", 0);

        var results = await lookup.LookUpAsync([new(partition, OffsetSpec.Latest)], IsolationLevel.ReadUncommitted, TimeSpan.FromSeconds(15), ct);

        Assert.True(results[partition].Succeeded, results[partition].Error?.Message);
        Assert.Equal(42, results[partition].Offset.Offset);
        Assert.True(broker.Connects >= 2);
    }
}
