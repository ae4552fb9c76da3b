using System.Text;
using Messaging.IntegrationTests.Support;
using Messaging.Partitioners;

namespace Messaging.Core.Tests.Producer;

/// <summary>
/// A topic deleted and created again with fewer partitions: records for partitions it no longer has fail at once, typed,
/// instead of waiting for their delivery timeout; keyed records are spread over the partitions it has now.
/// </summary>
public sealed class PartitionShrinkTests
{
    [Fact(Timeout = 30_000)]
    public async Task Records_for_a_partition_the_recreated_topic_no_longer_has_fail_typed_and_keys_go_to_the_partitions_it_has()
    {
        var ct = TestContext.Current.CancellationToken;

        // A broker answers a Produce for a partition it does not have UNKNOWN_TOPIC_OR_PARTITION (retriable: stale metadata).
        await using var broker = new ScriptedProduceBroker(partitions: 4);
        broker.OnProduce = batch => batch.Partition < broker.Partitions ? ErrorCode.None : ErrorCode.UnknownTopicOrPartition;
        await using var producer = await ProducerThatKnowsFourPartitionsAsync(broker, ct);

        // The topic is deleted and created again with two partitions; the producer still knows four.
        broker.Partitions = 2;
        var lost = producer.ProduceAsync(ScriptedProduceBroker.Topic, null, "lost"u8.ToArray(), partition: 3, cancellationToken: ct).AsTask();

        var error = await Assert.ThrowsAsync<ProduceException>(() => lost.WaitAsync(TimeSpan.FromSeconds(15), ct)); // well before the 60 s delivery timeout
        Assert.Equal(ProduceErrorKind.Broker, error.Kind);
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, error.Code);
        Assert.Equal(new TopicPartition(ScriptedProduceBroker.Topic, 3), error.TopicPartition);
        Assert.False(error.IsRetriable);

        // A key that hashed to partition 2 or 3 of four goes to its partition of two.
        var key = Enumerable.Range(0, 100).Select(i => Encoding.UTF8.GetBytes("key-" + i)).First(k => Murmur2.Partition(k, 4) >= 2);
        var keyed = await producer.ProduceAsync(ScriptedProduceBroker.Topic, key, "keyed"u8.ToArray(), cancellationToken: ct).AsTask().WaitAsync(TimeSpan.FromSeconds(15), ct);
        Assert.Equal(Murmur2.Partition(key, 2), keyed.Partition);

        // A partition it no longer has is refused as any partition beyond the topic's.
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () =>
            await producer.ProduceAsync(ScriptedProduceBroker.Topic, null, "v"u8.ToArray(), partition: 3, cancellationToken: ct));
    }

    [Fact(Timeout = 30_000)]
    public async Task Without_topic_ids_in_the_metadata_records_for_a_partition_the_recreated_topic_no_longer_has_fail_typed_at_once()
    {
        var ct = TestContext.Current.CancellationToken;

        // A broker without topic ids (older, or one that answers the zero id): only the partition count tells.
        await using var broker = new ScriptedProduceBroker(partitions: 4) { TopicIds = false };
        broker.OnProduce = batch => batch.Partition < broker.Partitions ? ErrorCode.None : ScriptedProduceBroker.Hold;
        await using var producer = await ProducerThatKnowsFourPartitionsAsync(broker, ct);
        Assert.Equal(Guid.Empty, producer.Core.Accumulator.GetOrAddTopic(ScriptedProduceBroker.Topic).TopicId);

        // A batch for partition 3 waits in flight, one queues behind it; the topic is created again with two partitions.
        broker.Partitions = 2;
        var inFlight = producer.ProduceAsync(ScriptedProduceBroker.Topic, null, "in flight"u8.ToArray(), partition: 3, cancellationToken: ct).AsTask();
        await Eventually.TrueAsync(() => broker.Batches.Count(b => b.Partition == 3) == 2, TimeSpan.FromSeconds(10), "the second batch for partition 3 reaching the broker", ct);
        var queued = producer.ProduceAsync(ScriptedProduceBroker.Topic, null, "queued"u8.ToArray(), partition: 3, cancellationToken: ct).AsTask();
        await producer.Core.Cluster.Metadata.RefreshAsync(ct);

        // The queued record fails at once, the one in flight when its request times out (both well before the 60 s delivery timeout).
        foreach (var lost in new[] { queued, inFlight })
        {
            var error = await Assert.ThrowsAsync<ProduceException>(() => lost.WaitAsync(TimeSpan.FromSeconds(15), ct));
            Assert.Equal(ErrorCode.UnknownTopicOrPartition, error.Code);
            Assert.Equal(new TopicPartition(ScriptedProduceBroker.Topic, 3), error.TopicPartition);
            Assert.False(error.IsRetriable);
        }

        Assert.Equal(2, producer.Core.Accumulator.GetOrAddTopic(ScriptedProduceBroker.Topic).Partitions.Length);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_batch_in_flight_to_a_partition_the_recreated_topic_no_longer_has_fails_typed_when_it_comes_back()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker(partitions: 4);
        await using var producer = await ProducerThatKnowsFourPartitionsAsync(broker, ct);

        // The topic is created again with two partitions while a batch for partition 3 is in flight (never answered).
        broker.OnProduce = batch => batch.Partition < broker.Partitions ? ErrorCode.None : ScriptedProduceBroker.Hold;
        broker.Partitions = 2;
        var held = producer.ProduceAsync(ScriptedProduceBroker.Topic, null, "held"u8.ToArray(), partition: 3, cancellationToken: ct).AsTask();
        await Eventually.TrueAsync(() => broker.Batches.Count(b => b.Partition == 3) == 2, TimeSpan.FromSeconds(10), "the second batch for partition 3 reaching the broker", ct);

        // A record for a partition beyond the known ones makes the producer fetch the metadata, which shows two.
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () =>
            await producer.ProduceAsync(ScriptedProduceBroker.Topic, null, "v"u8.ToArray(), partition: 5, cancellationToken: ct));
        Assert.Equal(2, producer.Core.Accumulator.GetOrAddTopic(ScriptedProduceBroker.Topic).Partitions.Length);

        // The request times out (retriable); the partition is gone, so the batch fails instead of waiting in a queue nobody drains.
        var error = await Assert.ThrowsAsync<ProduceException>(() => held.WaitAsync(TimeSpan.FromSeconds(15), ct));
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, error.Code);
        Assert.Equal(new TopicPartition(ScriptedProduceBroker.Topic, 3), error.TopicPartition);
        await producer.FlushAsync(ct).WaitAsync(TimeSpan.FromSeconds(5), ct);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_record_waiting_for_memory_for_a_partition_the_recreated_topic_no_longer_has_fails_typed_at_once()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker(partitions: 4);
        await using var producer = await broker.ProducerWithFullMemoryAsync(partition: 0, ct);

        // A record for partition 3 waits for memory (its wait would last minutes) ...
        var waiting = producer.ProduceAsync(ScriptedProduceBroker.Topic, null, new byte[4000], partition: 3, cancellationToken: ct).AsTask();
        await Eventually.TrueAsync(() => producer.Core.Pool.HasWaiters, TimeSpan.FromSeconds(10), "the record for partition 3 waiting for memory", ct);

        // ... when the topic is created again with two partitions: it fails as the records appended to partition 3 do.
        broker.Partitions = 2;
        await producer.Core.Cluster.Metadata.RefreshAsync(ct);

        var error = await Assert.ThrowsAsync<ProduceException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(15), ct));
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, error.Code);
        Assert.Equal(new TopicPartition(ScriptedProduceBroker.Topic, 3), error.TopicPartition);
        Assert.False(error.IsRetriable);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_blocking_produce_waiting_for_memory_for_a_partition_the_recreated_topic_no_longer_has_throws_typed_at_once()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker(partitions: 4);
        await using var producer = await broker.ProducerWithFullMemoryAsync(partition: 0, ct);

        var waiting = Task.Run(() => producer.Produce(ScriptedProduceBroker.Topic, new ProducerRecord { Value = new byte[4000], Partition = 3 }), ct);
        await Eventually.TrueAsync(() => producer.Core.Pool.HasWaiters, TimeSpan.FromSeconds(10), "the blocking call for partition 3 waiting for memory", ct);

        broker.Partitions = 2;
        await producer.Core.Cluster.Metadata.RefreshAsync(ct);

        var error = await Assert.ThrowsAsync<ProduceException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(15), ct));
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, error.Code);
        Assert.Equal(new TopicPartition(ScriptedProduceBroker.Topic, 3), error.TopicPartition);
    }

    /// <summary>A producer that has delivered a record to partition 3 of the four the topic has for now (a delivery timeout far beyond the tests' waits).</summary>
    private static async Task<KafkaProducer> ProducerThatKnowsFourPartitionsAsync(ScriptedProduceBroker broker, CancellationToken ct)
    {
        var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = broker.BootstrapServers,
            DeliveryTimeout = TimeSpan.FromSeconds(60),
            RequestTimeout = TimeSpan.FromSeconds(2),
            CloseTimeout = TimeSpan.FromSeconds(1),
            Linger = TimeSpan.Zero,
        });
        Assert.Equal(3, (await producer.ProduceAsync(ScriptedProduceBroker.Topic, null, "before"u8.ToArray(), partition: 3, cancellationToken: ct)).Partition);
        return producer;
    }
}
