namespace Messaging.Core.Tests.Producer;

/// <summary>An explicit partition is a partition number: a negative one is refused, not handed to the partitioner.</summary>
public sealed class ExplicitPartitionTests
{
    [Fact(Timeout = 30_000)]
    public async Task A_negative_partition_is_refused_by_every_way_to_produce()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker(partitions: 4);
        await using var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = broker.BootstrapServers, Linger = TimeSpan.Zero });
        await using var typed = new KafkaProducer<string, string>(producer, Serializers.Utf8, Serializers.Utf8);
        await producer.ProduceAsync(ScriptedProduceBroker.Topic, "k"u8.ToArray(), "v"u8.ToArray(), cancellationToken: ct); // the topic is known

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () =>
            await producer.ProduceAsync(ScriptedProduceBroker.Topic, "k"u8.ToArray(), "v"u8.ToArray(), partition: -3, cancellationToken: ct));
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            producer.Produce(ScriptedProduceBroker.Topic, new ProducerRecord { Key = "k"u8, Value = "v"u8, Partition = -3 }));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () =>
            await typed.ProduceAsync(ScriptedProduceBroker.Topic, new ProducerRecord<string, string>("k", "v") { Partition = -3 }, ct));
        Assert.Single(broker.Written);
    }
}
