using System.Collections.Concurrent;
using System.Diagnostics;
using Messaging.IntegrationTests.Consumer;
using Messaging.Testing;

namespace Messaging.IntegrationTests.Diagnostics;

/// <summary>
/// Produce and consume spans on <see cref="KafkaTelemetry.ActivitySourceName"/>: the producer's <c>send</c> span is a
/// child of the caller's activity and travels in the record's <c>traceparent</c> header; the consumer's
/// <c>receive</c> span links to it.
/// </summary>
[Collection(TracingCollection.Name)]
public sealed class TracingTests
{
    [Fact(Timeout = 60_000)]
    public async Task The_send_span_travels_in_the_headers_and_the_receive_span_links_to_it()
    {
        var ct = TestContext.Current.CancellationToken;
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == KafkaTelemetry.ActivitySourceName || source.Name == "tests",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        using var tests = new ActivitySource("tests");

        await using var cluster = EmbeddedKafkaCluster.Start();
        cluster.CreateTopic("traced", 1);
        await using var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = cluster.BootstrapServers });
        DeliveryResult delivered;
        string callerTraceId;
        using (var caller = tests.StartActivity("caller"))
        {
            callerTraceId = caller!.TraceId.ToHexString();
            delivered = await producer.ProduceAsync("traced", "k"u8.ToArray(), "v"u8.ToArray(), cancellationToken: ct);
            Assert.Same(caller, Activity.Current); // the send span does not leak into the caller's flow
        }

        var send = Assert.Single(spans, s => s.OperationName == "send traced");
        Assert.Equal(ActivityKind.Producer, send.Kind);
        Assert.Equal(callerTraceId, send.TraceId.ToHexString());
        Assert.Equal("kafka", send.GetTagItem("messaging.system"));
        Assert.Equal(delivered.Offset, send.GetTagItem("messaging.kafka.offset"));

        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(cluster.BootstrapServers));
        consumer.Assign([new TopicPartitionOffset("traced", 0, OffsetSpec.Earliest)]);
        await foreach (var record in consumer.ConsumeAsync(ct))
        {
            var header = Assert.Single(record.Headers, h => h.Key == KafkaTraceContext.TraceParentHeader);
            Assert.Equal(send.Id, System.Text.Encoding.ASCII.GetString(header.Value.Span));
            break;
        }

        var receive = Assert.Single(spans, s => s.OperationName == "receive traced");
        Assert.Equal(ActivityKind.Consumer, receive.Kind);
        var link = Assert.Single(receive.Links);
        Assert.Equal(send.TraceId, link.Context.TraceId);
        Assert.Equal(send.SpanId, link.Context.SpanId);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_traceparent_the_caller_set_is_kept()
    {
        var ct = TestContext.Current.CancellationToken;
        var spans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == KafkaTelemetry.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = spans.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await using var cluster = EmbeddedKafkaCluster.Start();
        cluster.CreateTopic("traced", 1);
        await using var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = cluster.BootstrapServers });
        const string Own = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        await producer.ProduceAsync("traced", "k"u8.ToArray(), "v"u8.ToArray(), [new RecordHeader("traceparent", System.Text.Encoding.ASCII.GetBytes(Own))], cancellationToken: ct);

        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(cluster.BootstrapServers));
        consumer.Assign([new TopicPartitionOffset("traced", 0, OffsetSpec.Earliest)]);
        await foreach (var record in consumer.ConsumeAsync(ct))
        {
            var header = Assert.Single(record.Headers, h => h.Key == KafkaTraceContext.TraceParentHeader);
            Assert.Equal(Own, System.Text.Encoding.ASCII.GetString(header.Value.Span));
            Assert.True(KafkaTraceContext.TryExtract(record.Headers, out var context));
            Assert.Equal("0af7651916cd43dd8448eb211c80319c", context.TraceId.ToHexString());
            break;
        }

        Assert.Single(spans, s => s.OperationName == "send traced"); // the send span was made; only its header was not written
        var receive = Assert.Single(spans, s => s.OperationName == "receive traced");
        Assert.Equal("0af7651916cd43dd8448eb211c80319c", Assert.Single(receive.Links).Context.TraceId.ToHexString()); // linked to the caller's context
    }
}

/// <summary>Tracing tests listen process-wide: they run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TracingCollection
{
    public const string Name = "Tracing";
}
