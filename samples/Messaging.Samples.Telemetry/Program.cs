// The telemetry sample: the client's traces and metrics exported by the OpenTelemetry SDK to the console. It starts the
// embedded Kafka broker, produces three orders and consumes them, then makes three RPC calls to a server in the same
// process (the last one fails with NotFound), and flushes the metrics.
//   dotnet run -c Release --project samples/Messaging.Samples.Telemetry
//   dotnet run -c Release --project samples/Messaging.Samples.Telemetry -- --bootstrap localhost:9092   (a real Kafka)
// What to look for in the output is said in the comments below; every span is printed as it ends ("Activity.TraceId",
// "Activity.DisplayName", "Activity.Kind", ...), the metrics at the end ("Metric Name: ...").
using System.Diagnostics;
using Messaging;
using Messaging.Rpc;
using Messaging.Samples.Quickstart; // Arguments, Topics and ServerReady, shared with the quickstart sample
using Messaging.Samples.Telemetry;
using Messaging.Testing;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

const string Orders = "telemetry-orders";
const string Requests = "telemetry-requests";
const string Replies = "telemetry-replies";
const int OrderCount = 3;

// The application's own spans (checkout, process, quote) come from its own source; the library's from its two.
using var sample = new ActivitySource("Messaging.Samples.Telemetry");

// Tracing: the library's produce/consume spans (Messaging.Kafka) and RPC client/server spans (Messaging.Rpc). A span is
// only made while a provider samples its source: without these AddSource calls the library makes none.
using var tracing = Sdk.CreateTracerProviderBuilder()
    .ConfigureResource(resource => resource.AddService("telemetry-sample"))
    .AddSource(sample.Name, KafkaTelemetry.ActivitySourceName, RpcTelemetry.ActivitySourceName)
    .AddConsoleExporter()
    .Build();

// Metrics: connections, requests and bytes per client (Messaging.Kafka), memory pools (Messaging.Kafka.Pools), RPC calls
// by method and status (Messaging.Rpc). Exported once, by the shutdown at the end, rather than every few seconds.
using var metrics = Sdk.CreateMeterProviderBuilder()
    .ConfigureResource(resource => resource.AddService("telemetry-sample"))
    .AddMeter(KafkaTelemetry.MeterName, KafkaTelemetry.PoolsMeterName, RpcTelemetry.MeterName)
    .AddConsoleExporter((_, reader) => reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 600_000)
    .Build();

var bootstrap = Arguments.Bootstrap(args);
await using var cluster = bootstrap is null ? EmbeddedKafkaCluster.Start(brokers: 1) : null;
if (cluster is not null)
{
    bootstrap = cluster.BootstrapServers;
    cluster.SetGroupInitialRebalanceDelay(TimeSpan.FromMilliseconds(100));
    cluster.CreateTopic(Orders, partitions: 1);
    cluster.CreateTopic(Requests, partitions: 1);
    cluster.CreateTopic(Replies, partitions: 1);
}
else
{
    await Topics.EnsureAsync(bootstrap!, Orders, partitions: 1);
    await Topics.EnsureAsync(bootstrap!, Requests, partitions: 1);
}

Console.WriteLine($"== Kafka at {bootstrap}");

// 1. Produce. Look for "send telemetry-orders" (Kind: Producer), one per record, children of the "checkout" span (same
//    TraceId, ParentSpanId = checkout's SpanId). The producer writes the send span's context into the record's
//    "traceparent" header.
long firstOffset = -1;
await using (var producer = new KafkaProducer<string, string>(
    new KafkaProducerOptions { BootstrapServers = bootstrap!, ClientId = "telemetry-producer" }, Serializers.Utf8, Serializers.Utf8))
{
    using var checkout = sample.StartActivity("checkout");
    for (var i = 1; i <= OrderCount; i++)
    {
        var delivered = await producer.ProduceAsync(Orders, "order-" + i, "{\"items\": " + i + "}");
        Console.WriteLine($"== produced order-{i} at offset {delivered.Offset}");
        firstOffset = firstOffset < 0 ? delivered.Offset : firstOffset;
    }
}

// 2. Consume. Look for "receive telemetry-orders" (Kind: Consumer): the library's span of the hand-over, in a trace of
//    its own, whose "Activity.Links" name the send span of the record it handed over. The application's "process telemetry-orders" span continues
//    the producer's trace: its parent is the send span read from the record's headers.
var consumed = 0;
await using (var consumer = new KafkaConsumer<string?, string?>(
    new KafkaConsumerOptions { BootstrapServers = bootstrap!, ClientId = "telemetry-consumer", FetchMaxWait = TimeSpan.FromMilliseconds(50) },
    Deserializers.Utf8,
    Deserializers.Utf8))
{
    consumer.Assign([new TopicPartitionOffset(Orders, 0, OffsetSpec.At(firstOffset))]); // this run's orders, not an earlier run's
    using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
    await foreach (var record in consumer.ConsumeAsync(deadline.Token))
    {
        KafkaTraceContext.TryExtract(record.Headers, out var sent);
        using (sample.StartActivity("process " + Orders, ActivityKind.Consumer, sent))
        {
            Console.WriteLine($"== consumed {record.Key} = {record.Value}");
        }

        if (++consumed == OrderCount)
        {
            break;
        }
    }
}

// 3. RPC. Look for "telemetry-requests/Price" twice per call: Kind Client (the caller) and Kind Server (the handler),
//    with the same TraceId — the server's span is the child of the client's, carried in the request's "traceparent".
//    Between them are the Kafka spans of the request and the reply. The failed call's spans have
//    "rpc.response.status_code: NotFound" and StatusCode Error.
var fetchWait = cluster is null ? new KafkaConsumerOptions().FetchMaxWait : EmbeddedKafkaCluster.RecommendedFetchMaxWait; // the embedded broker holds an empty fetch its whole wait
await using var server = new RpcServer(new RpcServerOptions
{
    BootstrapServers = bootstrap!,
    RequestTopics = [Requests],
    GroupId = "telemetry-pricing",
    Consumer = { FetchMaxWait = fetchWait },
});
server.Map<PriceRequest, PriceReply>("Price", (request, _) => request.Sku switch
{
    "apple" => ValueTask.FromResult(new PriceReply(request.Quantity * 45L)),
    "pear" => ValueTask.FromResult(new PriceReply(request.Quantity * 60L)),
    _ => throw new RpcException(RpcStatus.NotFound, "no price for '" + request.Sku + "'"),
});
await server.StartAsync();
await using var client = new RpcClient(new RpcClientOptions
{
    BootstrapServers = bootstrap!,
    ReplyTopic = Replies,
    Consumer = { FetchMaxWait = fetchWait },
});
await client.StartAsync();
await ServerReady.WaitForAssignmentAsync(server, TimeSpan.FromSeconds(60));

var failedAsExpected = false;
using (sample.StartActivity("quote"))
{
    foreach (var sku in new[] { "apple", "pear", "durian" })
    {
        try
        {
            var price = await client.CallAsync<PriceRequest, PriceReply>(Requests, "Price", new PriceRequest(sku, 2));
            Console.WriteLine($"== Price({sku}) -> {price.TotalCents} cents");
        }
        catch (RpcException ex) when (ex.Status == RpcStatus.NotFound)
        {
            Console.WriteLine($"== Price({sku}) -> {ex.Status}: {ex.Detail}");
            failedAsExpected = true;
        }
    }
}

// 4. Metrics. Look for "Metric Name: rpc.client.duration" (a histogram per method and status: two Ok, one NotFound),
//    "messaging.rpc.client.calls", the server's "rpc.server.duration", and the Kafka client's
//    "messaging.kafka.request.duration" per API and client.id.
//    Shutdown flushes them once, while the clients are still connected, and stops the provider (a ForceFlush here
//    would print them a second time when the provider is disposed).
metrics.Shutdown();
var ok = consumed == OrderCount && failedAsExpected;
Console.WriteLine(ok ? "== telemetry sample OK" : $"== telemetry sample FAILED: {consumed} of {OrderCount} orders consumed");
return ok ? 0 : 1;
