// Produces and consumes through the embedded broker, then calls an RPC server, compiled ahead of time: every default
// path of the client (options, serializers, compression, pools, metrics) and of RPC (typed calls with a
// source-generated JSON context, statuses) runs without the JIT or reflection.
using Messaging;
using Messaging.Rpc;
using Messaging.Samples.Aot;
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

// RPC: a typed method whose request and reply are (de)serialized by a source-generated context — no reflection.
cluster.CreateTopic("aot-requests", partitions: 1);
cluster.CreateTopic("aot-replies", partitions: 1);
var json = new JsonRpcSerializer(AotJsonContext.Default);
await using var server = new RpcServer(new RpcServerOptions
{
    BootstrapServers = cluster.BootstrapServers,
    RequestTopics = ["aot-requests"],
    GroupId = "aot-server",
    Serializer = json,
    Consumer = { FetchMaxWait = EmbeddedKafkaCluster.RecommendedFetchMaxWait }, // the embedded broker holds an empty fetch its whole wait
});
server.Map<Quote, Price>("Price", static (quote, _) => quote.Quantity > 0
    ? ValueTask.FromResult(new Price(quote.Sku, quote.Quantity * 2.5m))
    : throw new RpcException(RpcStatus.InvalidArgument, "quantity must be positive"));
await server.StartAsync();
await using var client = new RpcClient(new RpcClientOptions
{
    BootstrapServers = cluster.BootstrapServers,
    ReplyTopic = "aot-replies",
    Serializer = json,
    Consumer = { FetchMaxWait = EmbeddedKafkaCluster.RecommendedFetchMaxWait },
});
await client.StartAsync();
var price = await client.CallAsync<Quote, Price>("aot-requests", "Price", new Quote("sku-1", 4), new RpcCallOptions { Timeout = TimeSpan.FromSeconds(30) });
RpcStatus refused;
try
{
    await client.CallAsync<Quote, Price>("aot-requests", "Price", new Quote("sku-1", 0), new RpcCallOptions { Timeout = TimeSpan.FromSeconds(30) });
    refused = RpcStatus.Ok;
}
catch (RpcException e)
{
    refused = e.Status;
}

if (price != new Price("sku-1", 10m) || refused != RpcStatus.InvalidArgument)
{
    Console.WriteLine($"unexpected RPC outcome: {price}, {refused}");
    return 1;
}

Console.WriteLine($"native AOT round trip OK: {received} records, RPC {price.Sku} = {price.Total} and {refused} (runtime compiled: {System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeCompiled})");
return 0;
