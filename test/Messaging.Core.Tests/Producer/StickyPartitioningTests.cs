namespace Messaging.Core.Tests.Producer;

/// <summary>Records without a key spread over the partitions at any rate, not only when batches fill up.</summary>
public sealed class StickyPartitioningTests
{
    [Fact(Timeout = 30_000)]
    public async Task Keyless_records_produced_one_at_a_time_move_to_another_partition_with_each_new_batch()
    {
        const int Partitions = 4;
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker(Partitions);
        await using var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = broker.BootstrapServers });

        // Each record is delivered before the next is produced: its batch went out long before it could fill up.
        var partitions = new List<int>();
        for (var i = 0; i < 40; i++)
        {
            partitions.Add((await producer.ProduceAsync(ScriptedProduceBroker.Topic, null, "v"u8.ToArray(), cancellationToken: ct)).Partition);
        }

        Assert.Equal(Partitions, partitions.Distinct().Count());
        for (var i = 1; i < partitions.Count; i++)
        {
            Assert.NotEqual(partitions[i - 1], partitions[i]);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task Keyless_records_go_only_to_partitions_that_have_a_leader()
    {
        const int Partitions = 4;
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker(Partitions) { LeaderlessPartition = 1 };
        await using var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = broker.BootstrapServers,
            DeliveryTimeout = TimeSpan.FromSeconds(5),
            RequestTimeout = TimeSpan.FromSeconds(2),
        });

        // A record placed on the partition without a leader would wait there until its delivery timeout.
        var partitions = new List<int>();
        for (var i = 0; i < 40; i++)
        {
            partitions.Add((await producer.ProduceAsync(ScriptedProduceBroker.Topic, null, "v"u8.ToArray(), cancellationToken: ct)).Partition);
        }

        Assert.Equal([0, 2, 3], partitions.Distinct().Order());
    }
}
