// Produces and consumes through the embedded broker, compiled ahead of time: every default path of the client
// (options, serializers, compression, pools, metrics) runs without the JIT or reflection.
using Messaging;
using Messaging.Testing;

const string Topic = "aot";
const int Records = 100;

await using var cluster = EmbeddedKafkaCluster.Start(brokers: 1);
cluster.CreateTopic(Topic, partitions: 2);

await using (var producer = new KafkaProducer<string, string>(
    new KafkaProducerOptions { BootstrapServers = cluster.BootstrapServers, CompressionType = CompressionType.Zstd },
    Serializers.Utf8,
    Serializers.Utf8))
{
    for (var i = 0; i < Records; i++)
    {
        await producer.ProduceAsync(Topic, "key-" + i, "value-" + i);
    }
}

await using var consumer = new KafkaConsumer<string?, string?>(
    new KafkaConsumerOptions { BootstrapServers = cluster.BootstrapServers },
    Deserializers.Utf8,
    Deserializers.Utf8);
consumer.Assign([new TopicPartitionOffset(Topic, 0, OffsetSpec.Earliest), new TopicPartitionOffset(Topic, 1, OffsetSpec.Earliest)]);
using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
var received = 0;
await foreach (var record in consumer.ConsumeAsync(deadline.Token))
{
    if (record.Value != "value-" + record.Key!["key-".Length..])
    {
        Console.WriteLine($"mismatched record {record.Key} = {record.Value}");
        return 1;
    }

    if (++received == Records)
    {
        break;
    }
}

Console.WriteLine($"native AOT round trip OK: {received} records (runtime compiled: {System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeCompiled})");
return 0;
