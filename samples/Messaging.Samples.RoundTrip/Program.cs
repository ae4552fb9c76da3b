// The main job until our own client lands: start the embedded Kafka broker, produce a few records with
// Confluent.Kafka, read them back, and print what happened. `dotnet run --project samples/Messaging.Samples.RoundTrip`
// Set MESSAGING_BOOTSTRAP_SERVERS=host:port to run it against a real Kafka instead (e.g. the one in docker/).
using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Messaging.Testing;

const string Topic = "round-trip";
const int Records = 10;

var external = Environment.GetEnvironmentVariable("MESSAGING_BOOTSTRAP_SERVERS");
await using var cluster = string.IsNullOrEmpty(external) ? EmbeddedKafkaCluster.Start(brokers: 3) : null;
var bootstrap = cluster?.BootstrapServers ?? external!;
if (cluster is not null)
{
    cluster.CreateTopic(Topic, partitions: 3, replicationFactor: 3);
    Console.WriteLine($"Embedded Kafka (librdkafka {EmbeddedKafkaCluster.LibrdkafkaVersion} mock cluster): {bootstrap}");
}
else
{
    Console.WriteLine($"External Kafka: {bootstrap}");
}

var clock = Stopwatch.StartNew();
using (var producer = new ProducerBuilder<string, string>(new ProducerConfig
       {
           BootstrapServers = bootstrap,
           EnableIdempotence = true,
           LingerMs = 5,
       }).Build())
{
    for (var i = 0; i < Records; i++)
    {
        var headers = new Headers { { "sent-by", Encoding.UTF8.GetBytes("round-trip-sample") } };
        var result = await producer.ProduceAsync(Topic, new Message<string, string> { Key = $"key-{i}", Value = $"hello #{i}", Headers = headers });
        Console.WriteLine($"produced {result.Message.Key} -> partition {result.Partition.Value} offset {result.Offset.Value}");
    }
}

using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
{
    BootstrapServers = bootstrap,
    GroupId = "round-trip-sample",
    EnableAutoCommit = false,
    FetchWaitMaxMs = 50,
}).Build();
var partitions = new List<TopicPartitionOffset>();
for (var p = 0; p < 3; p++)
{
    partitions.Add(new TopicPartitionOffset(Topic, p, Offset.Beginning));
}

consumer.Assign(partitions);
var received = 0;
var deadline = DateTime.UtcNow.AddSeconds(30);
while (received < Records && DateTime.UtcNow < deadline)
{
    var record = consumer.Consume(TimeSpan.FromMilliseconds(200));
    if (record is null)
    {
        continue;
    }

    received++;
    Console.WriteLine($"consumed {record.Message.Key} = '{record.Message.Value}' from partition {record.Partition.Value} offset {record.Offset.Value}");
}

Console.WriteLine(received == Records
    ? $"round trip OK: {Records} records in {clock.ElapsedMilliseconds} ms"
    : $"round trip FAILED: {received} of {Records} records came back");
return received == Records ? 0 : 1;
