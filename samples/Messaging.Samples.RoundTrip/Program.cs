// The main job: start the embedded Kafka broker (3 brokers), produce keyed records with headers through our
// producer, read them back with our consumer, and print the round trip.
//   dotnet run -c Release --project samples/Messaging.Samples.RoundTrip
// Set MESSAGING_BOOTSTRAP_SERVERS=host:port to run it against a real Kafka instead (e.g. the one in docker/; create the
// topic "round-trip" with 3 partitions there first).
using System.Diagnostics;
using System.Text;
using Messaging;
using Messaging.Testing;

const string Topic = "round-trip";
const int Partitions = 3;
const int Records = 10;

var external = Environment.GetEnvironmentVariable("MESSAGING_BOOTSTRAP_SERVERS");
await using var cluster = string.IsNullOrEmpty(external) ? EmbeddedKafkaCluster.Start(brokers: 3) : null;
var bootstrap = cluster?.BootstrapServers ?? external!;
if (cluster is not null)
{
    cluster.CreateTopic(Topic, Partitions, replicationFactor: 3);
    Console.WriteLine($"Embedded Kafka (librdkafka {EmbeddedKafkaCluster.LibrdkafkaVersion} mock cluster): {bootstrap}");
}
else
{
    Console.WriteLine($"External Kafka: {bootstrap}");
}

var clock = Stopwatch.StartNew();
await using (var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = bootstrap, ClientId = "round-trip-sample" }))
{
    for (var i = 0; i < Records; i++)
    {
        var result = await producer.ProduceAsync(
            Topic,
            Encoding.UTF8.GetBytes($"key-{i}"),
            Encoding.UTF8.GetBytes($"hello #{i}"),
            headers: [new RecordHeader("sent-by", "round-trip-sample"u8.ToArray())]);
        Console.WriteLine($"produced key-{i} -> partition {result.Partition} offset {result.Offset}");
    }
}

await using var consumer = new KafkaConsumer<string?, string?>(
    new KafkaConsumerOptions { BootstrapServers = bootstrap, ClientId = "round-trip-sample", FetchMaxWait = TimeSpan.FromMilliseconds(50) },
    Deserializers.Utf8,
    Deserializers.Utf8);
var assignment = new List<TopicPartitionOffset>();
for (var p = 0; p < Partitions; p++)
{
    assignment.Add(new TopicPartitionOffset(Topic, p, OffsetSpec.Earliest));
}

consumer.Assign(assignment);
using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
var received = 0;
try
{
    await foreach (var record in consumer.ConsumeAsync(deadline.Token))
    {
        var sentBy = record.Headers.Count > 0 ? Encoding.UTF8.GetString(record.Headers[0].Value.Span) : "?";
        Console.WriteLine($"consumed {record.Key} = '{record.Value}' from {record.TopicPartition} offset {record.Offset} (sent-by: {sentBy})");
        if (++received == Records)
        {
            break;
        }
    }
}
catch (OperationCanceledException)
{
    // The deadline passed: report what came back.
}

Console.WriteLine(received == Records
    ? $"round trip OK: {Records} records in {clock.ElapsedMilliseconds} ms"
    : $"round trip FAILED: {received} of {Records} records came back");
return received == Records ? 0 : 1;
