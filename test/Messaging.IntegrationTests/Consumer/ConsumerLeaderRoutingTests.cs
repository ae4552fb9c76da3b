using Messaging.Records;

namespace Messaging.IntegrationTests.Consumer;

/// <summary>Leader changes the consumer learns from metadata it did not ask for (<see cref="FakeFetchBroker"/> pairs).</summary>
public sealed class ConsumerLeaderRoutingTests
{
    private const string Topic = "routed";

    [Fact(Timeout = 60_000)]
    public async Task A_leader_move_seen_by_a_periodic_metadata_refresh_reroutes_the_partition()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var old = FakeFetchBroker.Start(nodeId: 1);
        await using var moved = FakeFetchBroker.Start(nodeId: 2);
        old.CreateTopic(Topic, 1);
        moved.CreateTopic(Topic, 1, old.TopicId(Topic));
        old.AddPeer(moved);
        moved.AddPeer(old);

        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(old.BootstrapServers, o => o.MetadataMaxAge = TimeSpan.FromMilliseconds(200)));
        consumer.Assign([new TopicPartitionOffset(new TopicPartition(Topic, 0), OffsetSpec.At(0))]);
        await Support.Eventually.TrueAsync(() => old.Fetches.Count > 0, TimeSpan.FromSeconds(10), "the consumer fetching from broker 1", ct);

        // The partition moves to broker 2, which gets the records. Broker 1 still answers its Fetches (empty, no error:
        // a stale leader, or one cut off from the controller), so only the metadata says where to read now.
        old.SetLeader(Topic, 0, 2, 1);
        moved.SetLeader(Topic, 0, 2, 1);
        moved.Append(Topic, 0, Batch(3));
        var read = await ConsumerTestSupport.ReadAsync(consumer, 3, TimeSpan.FromSeconds(5), ct);
        Assert.True(read.Count == 3, "read " + read.Count + " of the new leader's 3 records within 5 s (metadata refreshed every 200 ms); fetches: broker 1 " +
            old.Fetches.Count + ", broker 2 " + moved.Fetches.Count);
    }

    private static byte[] Batch(int count)
    {
        using var builder = new RecordBatchBuilder { PartitionLeaderEpoch = 1 };
        for (int i = 0; i < count; i++)
        {
            builder.Append(1_700_000_000_000 + i, default, System.Text.Encoding.UTF8.GetBytes("v" + i));
        }

        return builder.Build().ToArray();
    }
}
