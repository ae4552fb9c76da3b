using Messaging.Consumer;
using Messaging.Pools;
using Messaging.Serialization;
using Messaging.IntegrationTests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.IntegrationTests.Consumer;

/// <summary>Records written by Confluent.Kafka read back by our consumer, on every path.</summary>
public sealed class ConsumerRoundTripTests(TestBrokerFixture fixture)
{
    [Fact(Timeout = 60_000)]
    public async Task Typed_stream_reads_every_record_once_in_partition_order()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 3, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("roundtrip");
        await broker.CreateTopicAsync(topic, 4, 3, ct);
        var produced = await ConsumerTestSupport.ProduceAsync(broker.BootstrapServers, topic, 4, 2_000, 100, cancellationToken: ct);

        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(broker.BootstrapServers));
        consumer.Assign(ConsumerTestSupport.All(topic, 4, OffsetSpec.Earliest));
        var results = await ConsumerTestSupport.ReadAsync(consumer, 2_000, TimeSpan.FromSeconds(30), ct);

        Assert.Equal(2_000, results.Count);
        foreach (var group in results.GroupBy(r => r.Partition))
        {
            var expected = produced[group.Key];
            var actual = group.ToList();
            Assert.Equal(expected.Count, actual.Count);
            for (int i = 0; i < actual.Count; i++)
            {
                Assert.Equal(i, actual[i].Offset);
                Assert.Equal(expected[i].Key, actual[i].Key);
                Assert.Equal(expected[i].Value, actual[i].Value);
            }

            Assert.Equal(expected.Count, consumer.Position(new TopicPartition(topic, group.Key)));
        }
    }

    [Theory(Timeout = 60_000)]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Raw_records_read_one_by_one_and_recycled_hold_the_exact_bytes(bool pools)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("raw");
        await broker.CreateTopicAsync(topic, 2, 1, ct);
        var produced = await ConsumerTestSupport.ProduceAsync(broker.BootstrapServers, topic, 2, 1_000, 50, cancellationToken: ct);

        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(broker.BootstrapServers, o => o.Pools = pools ? ConsumerPools.Shared : ConsumerPools.None));
        consumer.Assign(ConsumerTestSupport.All(topic, 2, OffsetSpec.Earliest));
        var next = new long[2];
        int count = 0;
        ConsumedRecord kept = default;
        await foreach (var record in consumer.ConsumeRawAsync(ct))
        {
            Assert.Equal(next[record.Partition], record.Offset);
            var (key, value) = produced[record.Partition][(int)record.Offset];
            Assert.True(record.Key.Span.SequenceEqual(key));
            Assert.True(record.Value.Span.SequenceEqual(value));
            Assert.Equal(topic, record.Topic);
            next[record.Partition]++;
            if (count == 10)
            {
                kept = record; // kept past later records: still valid until recycled
            }
            else
            {
                record.Recycle();
            }

            if (++count == 1_000)
            {
                break;
            }
        }

        Assert.Equal(produced[kept.Partition][(int)kept.Offset].Value, kept.Value.ToArray());
        kept.Recycle();
        Assert.Throws<ObjectDisposedException>(() => kept.Value);
        Assert.Equal(produced[0].Count, consumer.Position(new TopicPartition(topic, 0)));
        Assert.Equal(produced[1].Count, consumer.Position(new TopicPartition(topic, 1)));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_failing_deserializer_is_a_consume_error_on_that_record_which_stays_unconsumed()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("deser");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        await ConsumerTestSupport.ProduceAsync(broker.BootstrapServers, topic, 1, 5, 8, cancellationToken: ct);
        var partition = new TopicPartition(topic, 0);

        await using var consumer = new KafkaConsumer<Ignore, long>(ConsumerTestSupport.Options(broker.BootstrapServers), Deserializers.Ignore, new FailAt(3));
        consumer.Assign([new TopicPartitionOffset(partition, OffsetSpec.Earliest)]);
        var read = new List<long>();
        var error = await Assert.ThrowsAsync<ConsumeException>(async () =>
        {
            await foreach (var result in consumer.ConsumeAsync(ct))
            {
                read.Add(result.Value);
            }
        });
        Assert.Equal([0L, 1, 2], read);
        Assert.Equal(ConsumeErrorKind.Deserialization, error.Kind);
        Assert.Equal(3, error.Offset);
        Assert.IsType<FormatException>(error.InnerException);
        Assert.Equal(3, consumer.Position(partition));
        consumer.Seek(partition, 4);
        Assert.Equal(4, (await ConsumerTestSupport.ReadAsync(consumer, 1, TimeSpan.FromSeconds(10), ct)).Single().Value);
    }

    [Fact(Timeout = 60_000)]
    public async Task One_consume_at_a_time_and_disposal_ends_a_waiting_consume()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("dispose");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(broker.BootstrapServers));
        consumer.Assign([new TopicPartitionOffset(topic, 0, OffsetSpec.Latest)]);
        var waiting = consumer.ConsumeBatchAsync(ct).AsTask();
        await Task.Delay(100, ct);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await consumer.ConsumeBatchAsync(ct));
        await consumer.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => waiting);
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await consumer.ConsumeBatchAsync(ct));
        await consumer.DisposeAsync();
    }

    [Fact(Timeout = 60_000)]
    public async Task Prefetching_stops_at_the_buffered_bytes_limit_and_resumes_as_the_application_reads()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("backpressure");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        await ConsumerTestSupport.ProduceAsync(broker.BootstrapServers, topic, 1, 2_000, 1_000, cancellationToken: ct);

        const long limit = 64 * 1024;
        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(broker.BootstrapServers, o => o.MaxBufferedBytes = limit));
        consumer.Assign(ConsumerTestSupport.All(topic, 1, OffsetSpec.Earliest));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (consumer.Fetcher.BufferedBytes < limit)
        {
            Assert.True(DateTime.UtcNow < deadline, "the consumer never filled its buffer");
            await Task.Delay(10, ct);
        }

        // Full: no more Fetches while the application reads nothing.
        int requests = consumer.Fetcher.FetchRequests;
        long buffered = consumer.Fetcher.BufferedBytes;
        await Task.Delay(300, ct);
        Assert.Equal(requests, consumer.Fetcher.FetchRequests);
        Assert.Equal(buffered, consumer.Fetcher.BufferedBytes);
        Assert.True(buffered < limit + 1024 * 1024, buffered + " bytes buffered: at most one response past the limit");

        var all = await ConsumerTestSupport.ReadAsync(consumer, 2_000, TimeSpan.FromSeconds(30), ct);
        Assert.Equal(2_000, all.Count);
        Assert.True(consumer.Fetcher.FetchRequests > requests);
    }

    private sealed class FailAt(long offset) : IDeserializer<long>
    {
        public long Deserialize(ReadOnlySpan<byte> data, bool isNull, in DeserializationContext context) =>
            context.Offset == offset ? throw new FormatException("bad record") : context.Offset;
    }
}
