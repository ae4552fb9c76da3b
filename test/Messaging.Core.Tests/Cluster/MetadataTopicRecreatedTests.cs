using Messaging.Cluster;
using Messaging.Core.Tests.Connection;
using Messaging.Protocol.Messages;

namespace Messaging.Core.Tests.Cluster;

/// <summary>
/// A topic deleted and created again under the same name gets a new topic id and leader epochs that start over: the
/// refresher keeps a partition's newer epoch against a lagging broker's view, but not across topic ids.
/// </summary>
public sealed class MetadataTopicRecreatedTests
{
    private static readonly Guid FirstId = Guid.Parse("11111111-1111-1111-1111-111111111111");
    private static readonly Guid SecondId = Guid.Parse("22222222-2222-2222-2222-222222222222");

    private static MetadataResponse Answer(Guid topicId, int leader, int leaderEpoch) => new()
    {
        Brokers = [new() { NodeId = 1, Host = "broker1.test", Port = 9092 }, new() { NodeId = 2, Host = "broker2.test", Port = 9092 }],
        ClusterId = "in-memory",
        ControllerId = 1,
        Topics =
        [
            new()
            {
                Name = "orders",
                TopicId = topicId,
                Partitions = [new() { PartitionIndex = 0, LeaderId = leader, LeaderEpoch = leaderEpoch, ReplicaNodes = [1, 2], IsrNodes = [1, 2] }],
            },
        ],
    };

    private static MetadataResponse Partitions(params (int Leader, int LeaderEpoch)[] partitions)
    {
        var answer = Answer(FirstId, 0, 0);
        answer.Topics[0].Partitions = [.. partitions.Select((p, i) => new MetadataResponse.MetadataResponsePartition { PartitionIndex = i, LeaderId = p.Leader, LeaderEpoch = p.LeaderEpoch, ReplicaNodes = [1, 2], IsrNodes = [1, 2] })];
        return answer;
    }

    [Fact(Timeout = 10_000)]
    public async Task A_partition_keeps_its_newer_epoch_against_a_lagging_answer_that_does_not_know_partitions_added_since()
    {
        // Partitions were added (1 → 2) and partition 0 moved to broker 1 at epoch 7; a lagging broker still has one
        // partition, led by broker 2 at epoch 6.
        Assert.Equal((1, 7), await LeaderAfterAsync(Partitions((1, 7), (2, 0)), Partitions((2, 6)), TestContext.Current.CancellationToken));
    }

    [Fact(Timeout = 10_000)]
    public async Task A_recreated_topic_takes_its_new_leaders_even_though_their_epochs_are_lower()
    {
        var ct = TestContext.Current.CancellationToken;
        var broker = new InMemoryBroker
        {
            OnMetadata = (_, n) => n == 1 ? Answer(FirstId, leader: 1, leaderEpoch: 7) : Answer(SecondId, leader: 2, leaderEpoch: 0),
        };
        await using var cluster = new ClusterClient(new KafkaClientOptions { BootstrapServers = "broker1.test:9092", TransportFactory = broker });
        cluster.Metadata.AddTopics(["orders"]);

        var first = await cluster.Metadata.RefreshAsync(ct);
        Assert.True(first.TryGetLeader("orders", 0, out var leader, out var epoch));
        Assert.Equal((1, 7), (leader, epoch));

        var second = await cluster.Metadata.RefreshAsync(ct);
        Assert.Equal(SecondId, second.Topics["orders"].TopicId);
        Assert.True(second.TryGetLeader("orders", 0, out leader, out epoch));
        Assert.Equal((2, 0), (leader, epoch));
    }

    [Fact(Timeout = 10_000)]
    public async Task The_same_topic_keeps_its_newer_epoch_against_a_lagging_answer()
    {
        Assert.Equal((1, 7), await LeaderAfterAsync(Answer(FirstId, leader: 1, leaderEpoch: 7), Answer(FirstId, leader: 2, leaderEpoch: 6), TestContext.Current.CancellationToken));
    }

    /// <summary>Partition 0's leader and epoch after refreshing on <paramref name="first"/> and then <paramref name="second"/>.</summary>
    private static async Task<(int Leader, int Epoch)> LeaderAfterAsync(MetadataResponse first, MetadataResponse second, CancellationToken ct)
    {
        var broker = new InMemoryBroker { OnMetadata = (_, n) => n == 1 ? first : second };
        await using var cluster = new ClusterClient(new KafkaClientOptions { BootstrapServers = "broker1.test:9092", TransportFactory = broker });
        cluster.Metadata.AddTopics(["orders"]);

        await cluster.Metadata.RefreshAsync(ct);
        var metadata = await cluster.Metadata.RefreshAsync(ct);
        Assert.True(metadata.TryGetLeader("orders", 0, out var leader, out var epoch));
        return (leader, epoch);
    }
}
