using Messaging.Testing;

namespace Messaging.IntegrationTests.Consumer;

/// <summary>Fetching from a follower (KIP-392): the leader names a preferred read replica and the consumer reads from it.</summary>
public sealed class ConsumerFollowerFetchTests
{
    [Fact(Timeout = 60_000)]
    public async Task A_partition_whose_leader_names_a_preferred_read_replica_is_read_from_that_replica_and_from_the_leader_once_the_replica_refuses()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(brokers: 2);
        const string Topic = "follower-fetch";
        cluster.CreateTopic(Topic, partitions: 1, replicationFactor: 2);
        cluster.SetPartitionLeader(Topic, 0, 1);
        cluster.SetPartitionPreferredReplica(Topic, 0, 2); // the leader answers with no records and names broker 2
        await ConsumerTestSupport.ProduceAsync(cluster.BootstrapServers, Topic, 1, 10, 20, cancellationToken: ct);
        cluster.StartRequestTracking();

        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(cluster.BootstrapServers, o => o.ClientRack = "rack-2"));
        consumer.Assign([new TopicPartitionOffset(Topic, 0, OffsetSpec.Earliest)]);

        var read = await ConsumerTestSupport.ReadAsync(consumer, 10, TimeSpan.FromSeconds(10), ct);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), read.Select(r => r.Offset));
        Assert.Contains(cluster.GetTrackedRequests(), r => r.ApiKey == ApiKey.Fetch && r.BrokerId == 2);

        // A seek that looks its start up again goes on reading from the replica.
        consumer.Seek(new TopicPartition(Topic, 0), OffsetSpec.Earliest);
        var again = await ConsumerTestSupport.ReadAsync(consumer, 10, TimeSpan.FromSeconds(10), ct);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), again.Select(r => r.Offset));

        // Broker 2 stops serving the partition (NOT_LEADER_OR_FOLLOWER): the consumer goes back to the leader.
        cluster.SetPartitionPreferredReplica(Topic, 0, -1);
        await ConsumerTestSupport.ProduceAsync(cluster.BootstrapServers, Topic, 1, 5, 20, cancellationToken: ct);
        var more = await ConsumerTestSupport.ReadAsync(consumer, 5, TimeSpan.FromSeconds(10), ct);
        Assert.Equal(Enumerable.Range(10, 5).Select(i => (long)i), more.Select(r => r.Offset));
    }
}
