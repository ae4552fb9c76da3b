namespace Messaging.Core.Tests.Producer;

/// <summary>A record for a partition added after the producer fetched its topic's metadata reaches that partition.</summary>
public sealed class PartitionGrowthTests
{
    [Fact(Timeout = 30_000)]
    public async Task An_awaited_record_for_a_partition_added_since_the_metadata_was_fetched_is_delivered_to_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker();
        await using var producer = await ProducerThatKnowsOnePartitionAsync(broker, ct);

        broker.Partitions = 2; // the topic grows; the producer's metadata still says one partition
        var delivered = await producer.ProduceAsync(ScriptedProduceBroker.Topic, "k"u8.ToArray(), "after"u8.ToArray(), partition: 1, cancellationToken: ct);

        Assert.Equal(1, delivered.Partition);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_blocking_produce_for_a_partition_added_since_the_metadata_was_fetched_is_delivered_to_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker();
        await using var producer = await ProducerThatKnowsOnePartitionAsync(broker, ct);

        broker.Partitions = 2;
        var outcome = new TaskCompletionSource<DeliveryResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        producer.Produce(ScriptedProduceBroker.Topic, new ProducerRecord { Key = "k"u8, Value = "after"u8, Partition = 1 }, outcome,
            static (in DeliveryResult result, ProduceException? error, TaskCompletionSource<DeliveryResult> done) =>
            {
                if (error is null)
                {
                    done.TrySetResult(result);
                }
                else
                {
                    done.TrySetException(error);
                }
            });

        Assert.Equal(1, (await outcome.Task.WaitAsync(ct)).Partition);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_record_for_a_partition_the_topic_does_not_have_is_still_refused()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker();
        await using var producer = await ProducerThatKnowsOnePartitionAsync(broker, ct);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () =>
            await producer.ProduceAsync(ScriptedProduceBroker.Topic, "k"u8.ToArray(), "v"u8.ToArray(), partition: 1, cancellationToken: ct));
    }

    /// <summary>A producer that has delivered a record to the one partition the topic has for now.</summary>
    private static async Task<KafkaProducer> ProducerThatKnowsOnePartitionAsync(ScriptedProduceBroker broker, CancellationToken ct)
    {
        var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = broker.BootstrapServers,
            DeliveryTimeout = TimeSpan.FromSeconds(10),
            RequestTimeout = TimeSpan.FromSeconds(5),
            MaxBlock = TimeSpan.FromSeconds(10),
            Linger = TimeSpan.Zero,
        });
        Assert.Equal(0, (await producer.ProduceAsync(ScriptedProduceBroker.Topic, "k"u8.ToArray(), "before"u8.ToArray(), cancellationToken: ct)).Partition);
        return producer;
    }
}
