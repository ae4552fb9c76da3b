using Messaging.IntegrationTests.Consumer;
using Messaging.IntegrationTests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.IntegrationTests.Producer;

/// <summary>
/// The client shapes a service holds: producer and consumer behind interfaces, the typed producer taking a record,
/// value-type delivery state, one timestamp type on both sides, and a consumer of raw bytes with no deserializers.
/// </summary>
public sealed class ClientShapeTests(TestBrokerFixture fixture)
{
    private readonly record struct Sent(int Index, long Tag);

    [Fact(Timeout = 60_000)]
    public async Task A_typed_record_with_headers_partition_and_timestamp_comes_back_through_the_raw_consumer_with_its_create_time()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("shapes");
        await broker.CreateTopicAsync(topic, 2, 1, ct);
        var options = new KafkaProducerOptions { BootstrapServers = broker.BootstrapServers };
        await using IKafkaProducer<string, string> producer = new KafkaProducer<string, string>(options, Serializers.Utf8, Serializers.Utf8);

        var created = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123);
        var delivered = await producer.ProduceAsync(topic, new ProducerRecord<string, string>("key", "value")
        {
            Headers = [new RecordHeader("h", "1"u8.ToArray())],
            Partition = 1,
            Timestamp = created,
        }, ct);
        var createTime = new Timestamp(created.ToUnixTimeMilliseconds(), TimestampType.CreateTime);
        Assert.Equal(1, delivered.Partition);
        // The delivery report carries the create time, or the broker's log-append time when it reports one (the
        // embedded broker always answers 1234): either way, one Timestamp type.
        Assert.True(delivered.Timestamp == createTime || delivered.Timestamp.Type == TimestampType.LogAppendTime, delivered.Timestamp.ToString());

        // Value-type state, not boxed: the handler gets each record's own.
        var receipts = new Sent[10];
        for (var i = 0; i < receipts.Length; i++)
        {
            producer.Produce(topic, new ProducerRecord<string, string>("k" + i, "v" + i) { Partition = 0 }, new Sent(i, 1000 + i),
                static (in Messaging.DeliveryResult r, ProduceException? e, Sent s) => Receipts.Record(s, r, e));
        }

        await producer.FlushAsync(ct);
        for (var i = 0; i < receipts.Length; i++)
        {
            Assert.True(Receipts.Seen.TryGetValue((topic, i), out var seen), "no outcome for record " + i);
            Assert.Equal((1000L + i, (long)i), seen);
        }

        // A consumer of raw bytes: no deserializers anywhere.
        await using IKafkaConsumer consumer = new KafkaConsumer(ConsumerTestSupport.Options(broker.BootstrapServers));
        consumer.Assign([new TopicPartitionOffset(new TopicPartition(topic, 1), OffsetSpec.Earliest)]);
        await foreach (var record in consumer.ConsumeRawAsync(ct))
        {
            Assert.Equal("value"u8.ToArray(), record.Value.ToArray());
            Assert.Equal(createTime, record.Timestamp);
            Assert.True(record.Headers.TryGetLast("h"u8, out var header) && header.Value.Span.SequenceEqual("1"u8));
            record.Recycle();
            break;
        }
    }

    private static class Receipts
    {
        public static readonly System.Collections.Concurrent.ConcurrentDictionary<(string Topic, int Index), (long Tag, long Offset)> Seen = new();

        public static void Record(Sent state, in Messaging.DeliveryResult result, ProduceException? error)
        {
            if (error is null)
            {
                Seen[(result.Topic, state.Index)] = (state.Tag, result.Offset);
            }
        }
    }
}
