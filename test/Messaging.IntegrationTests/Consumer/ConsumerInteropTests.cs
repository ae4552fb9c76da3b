using Confluent.Kafka;
using Messaging.IntegrationTests.Support;
using Messaging.Testing.Brokers;
using TopicPartition = Messaging.TopicPartition;

namespace Messaging.IntegrationTests.Consumer;

/// <summary>Records written by Confluent.Kafka (librdkafka) with every codec, headers, null keys and values, read exactly by our consumer.</summary>
public sealed class ConsumerInteropTests(TestBrokerFixture fixture)
{
    public static TheoryData<string> Codecs => ["none", "gzip", "snappy", "lz4", "zstd"];

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(Codecs))]
    public async Task Every_codec_headers_and_nulls_are_read_exactly_on_every_path(string codec)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("interop-" + codec);
        await broker.CreateTopicAsync(topic, 2, 1, ct);
        var expected = Expected(300);
        using (var producer = ConfluentClients.Producer(broker.BootstrapServers, c =>
        {
            c.CompressionType = Enum.Parse<Confluent.Kafka.CompressionType>(codec, ignoreCase: true);
            c.LingerMs = 20;
        }))
        {
            foreach (var record in expected)
            {
                producer.Produce(new Confluent.Kafka.TopicPartition(topic, record.Partition), record.ToMessage());
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        }

        // Typed path.
        await using (var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(broker.BootstrapServers)))
        {
            consumer.Assign(ConsumerTestSupport.All(topic, 2, OffsetSpec.Earliest));
            var results = await ConsumerTestSupport.ReadAsync(consumer, expected.Count, TimeSpan.FromSeconds(30), ct);
            Assert.Equal(expected.Count, results.Count);
            foreach (var partition in new[] { 0, 1 })
            {
                var want = expected.Where(e => e.Partition == partition).ToList();
                var got = results.Where(r => r.Partition == partition).ToList();
                Assert.Equal(want.Count, got.Count);
                for (int i = 0; i < want.Count; i++)
                {
                    Assert.Equal(i, got[i].Offset);
                    Assert.Equal(want[i].Key, got[i].Key);
                    Assert.Equal(want[i].Value, got[i].Value);
                    Assert.Equal(new Timestamp(want[i].Timestamp, TimestampType.CreateTime), got[i].Timestamp);
                    Assert.Equal(want[i].Headers.Length, got[i].Headers.Count);
                    for (int h = 0; h < want[i].Headers.Length; h++)
                    {
                        Assert.Equal(want[i].Headers[h].Key, got[i].Headers[h].Key);
                        Assert.Equal(want[i].Headers[h].Value is null, got[i].Headers[h].IsValueNull);
                        Assert.Equal(want[i].Headers[h].Value ?? [], got[i].Headers[h].Value.ToArray());
                    }
                }
            }
        }

        // Raw batch path: the same bytes, read from the pooled buffers.
        await using (var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(broker.BootstrapServers)))
        {
            consumer.Assign(ConsumerTestSupport.All(topic, 2, OffsetSpec.Earliest));
            var seen = new Dictionary<int, int>();
            int total = 0;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            while (total < expected.Count)
            {
                using var batch = await consumer.ConsumeBatchAsync(timeout.Token);
                int partition = batch.TopicPartition.Partition;
                var want = expected.Where(e => e.Partition == partition).ToList();
                foreach (ref readonly var record in batch.Records)
                {
                    int index = seen.GetValueOrDefault(partition);
                    Assert.Equal(index, record.Offset);
                    Assert.Equal(want[index].Key is null, record.IsKeyNull);
                    Assert.Equal(want[index].Key ?? [], record.Key.ToArray());
                    Assert.Equal(want[index].Value is null, record.IsValueNull);
                    Assert.Equal(want[index].Value ?? [], record.Value.ToArray());
                    Assert.Equal(want[index].Headers.Length, record.Headers.Count);
                    seen[partition] = index + 1;
                    total++;
                }
            }

            Assert.Equal(expected.Count, total);
        }
    }

    private static List<ExpectedRecord> Expected(int count)
    {
        var records = new List<ExpectedRecord>(count);
        var start = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);
        for (int i = 0; i < count; i++)
        {
            byte[]? key = i % 7 == 3 ? null : System.Text.Encoding.UTF8.GetBytes("key-" + i);
            byte[]? value = i % 11 == 5 ? null : i % 13 == 0 ? [] : SequencedPayload.Create(i, 20 + i % 300);
            var headers = (i % 3) switch
            {
                0 => Array.Empty<(string, byte[]?)>(),
                1 => [("trace", System.Text.Encoding.UTF8.GetBytes("t-" + i))],
                _ => [("a", [1, 2, 3]), ("empty", []), ("null", null), ("ü-key", "value"u8.ToArray())],
            };
            records.Add(new ExpectedRecord(i % 2, key, value, start.AddMilliseconds(i).ToUnixTimeMilliseconds(), headers));
        }

        return records;
    }

    private sealed record ExpectedRecord(int Partition, byte[]? Key, byte[]? Value, long Timestamp, (string Key, byte[]? Value)[] Headers)
    {
        public Message<byte[], byte[]> ToMessage()
        {
            var headers = new Headers();
            foreach (var (k, v) in Headers)
            {
                headers.Add(k, v);
            }

            return new Message<byte[], byte[]> { Key = Key!, Value = Value!, Headers = headers, Timestamp = new Confluent.Kafka.Timestamp(Timestamp, Confluent.Kafka.TimestampType.CreateTime) };
        }
    }
}
