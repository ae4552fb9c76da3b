using Confluent.Kafka;
using System.Text;
using Messaging.IntegrationTests.Support;
using Messaging.Partitioners;
using Messaging.Testing.Brokers;
using CompressionType = Messaging.CompressionType;

namespace Messaging.IntegrationTests.Producer;

/// <summary>What our producer writes, a Confluent.Kafka (librdkafka) consumer reads byte for byte; our partitioner agrees with librdkafka's murmur2_random.</summary>
public sealed class ProducerInteropTests(TestBrokerFixture fixture)
{
    /// <summary>A record as the test describes it, with nulls distinct from empties.</summary>
    private sealed record Expected(byte[]? Key, byte[]? Value, (string Key, byte[]? Value)[] Headers, long TimestampMs);

    public static TheoryData<CompressionType> Codecs => new(CompressionType.None, CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd);

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(Codecs))]
    public async Task Every_codec_headers_nulls_empties_timestamps_and_1MB_values_are_read_byte_for_byte_by_Confluent(CompressionType codec)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("interop-" + codec.ToString().ToLowerInvariant());
        await broker.CreateTopicAsync(topic, 1, 1, ct);

        var big = new byte[1_000_000];
        new Random(42).NextBytes(big.AsSpan(0, 500_000)); // half random, half zeros: compressible, not trivially
        var expected = new List<Expected>
        {
            new("key"u8.ToArray(), "value"u8.ToArray(), [], 1_600_000_000_000),
            new(null, "null key"u8.ToArray(), [], 1_600_000_000_001),
            new([], "empty key"u8.ToArray(), [], 1_600_000_000_002),
            new("null value"u8.ToArray(), null, [], 1_600_000_000_003),
            new("empty value"u8.ToArray(), [], [], 1_600_000_000_004),
            new(null, null, [], 1_500_000_000_000), // an older timestamp than the batch's first
            new("h"u8.ToArray(), "headers"u8.ToArray(), [("trace-id", "abc"u8.ToArray()), ("null", null), ("empty", []), ("trace-id", "dup"u8.ToArray()), ("ünïcödé", [0, 1, 2])], 1_600_000_000_005),
            new("big"u8.ToArray(), big, [("size", "1000000"u8.ToArray())], 1_600_000_000_006),
        };
        for (var i = 0; i < 200; i++)
        {
            expected.Add(new(Encoding.UTF8.GetBytes("k" + i), Encoding.UTF8.GetBytes(new string('v', i)), [("i", BitConverter.GetBytes(i))], 1_600_000_001_000 + i));
        }

        var log = new CollectingLogger();
        var options = new KafkaProducerOptions
        {
            BootstrapServers = broker.BootstrapServers,
            CompressionType = codec,
            MaxRequestSize = 2 * 1024 * 1024,
            BatchSize = 1_000_000,
            Linger = TimeSpan.FromMilliseconds(20),
            LoggerFactory = log,
        };
        await using (var producer = new KafkaProducer(options))
        {
            var deliveries = new List<Task<Messaging.DeliveryResult>>();
            foreach (var record in expected)
            {
                var headers = record.Headers.Select(h => h.Value is null ? RecordHeader.WithNullValue(h.Key) : new RecordHeader(h.Key, h.Value)).ToList();
                deliveries.Add(producer.ProduceAsync(topic, record.Key, record.Value, headers, partition: 0,
                    timestamp: DateTimeOffset.FromUnixTimeMilliseconds(record.TimestampMs), cancellationToken: ct).AsTask());
            }

            for (var i = 0; i < deliveries.Count; i++)
            {
                var result = await deliveries[i];
                Assert.True(i == result.Offset, log.ToString());
                Assert.Equal(0, result.Partition);
            }
        }

        var records = ConfluentClients.ReadAll(broker.BootstrapServers, topic, 1, expected.Count, TimeSpan.FromSeconds(60), ct);
        Assert.Equal(expected.Count, records.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            var want = expected[i];
            var got = records[i];
            Assert.Equal(i, got.Offset.Value);
            Assert.True(want.Key is null == got.Message.Key is null, "record " + i + ": key null " + (want.Key is null) + " read back null " + (got.Message.Key is null));
            Assert.Equal(want.Key, got.Message.Key);
            Assert.True(want.Value is null == got.Message.Value is null, "record " + i + ": value null " + (want.Value is null) + " read back null " + (got.Message.Value is null));
            Assert.Equal(want.Value, got.Message.Value);
            Assert.Equal(Confluent.Kafka.TimestampType.CreateTime, got.Message.Timestamp.Type);
            Assert.Equal(want.TimestampMs, got.Message.Timestamp.UnixTimestampMs);
            var headers = got.Message.Headers?.Select(h => (h.Key, h.GetValueBytes())).ToArray() ?? [];
            Assert.Equal(want.Headers.Length, headers.Length);
            for (var h = 0; h < headers.Length; h++)
            {
                Assert.Equal(want.Headers[h].Key, headers[h].Key);
                Assert.Equal(want.Headers[h].Value, headers[h].Item2);
            }
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task For_ten_thousand_keys_our_partitioner_picks_the_partitions_Confluent_picks_with_murmur2_random()
    {
        const int Keys = 10_000;
        const int Partitions = 7;
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("murmur2");
        await broker.CreateTopicAsync(topic, Partitions, 1, ct);
        var keys = Enumerable.Range(0, Keys).Select(i => Encoding.UTF8.GetBytes("key-" + i + "-" + Guid.NewGuid().ToString("N")[..(i % 20)])).ToArray();

        // Confluent.Kafka with librdkafka's murmur2_random (the Java-compatible partitioner).
        var confluent = new int[Keys];
        using (var producer = ConfluentClients.Producer(broker.BootstrapServers, c => c.Partitioner = Partitioner.Murmur2Random))
        {
            for (var i = 0; i < Keys; i++)
            {
                var index = i;
                producer.Produce(topic, new Message<byte[], byte[]> { Key = keys[i], Value = [] }, report => confluent[index] = report.Error.IsError ? -1 : report.Partition.Value);
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(60)));
        }

        // Ours, through the producer (so the partition the record really went to is compared), and the function itself.
        var ours = new int[Keys];
        await using (var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = broker.BootstrapServers }))
        {
            for (var i = 0; i < Keys; i++)
            {
                producer.Produce(topic, keys[i], [], static (in Messaging.DeliveryResult r, ProduceException? e, object? s) =>
                {
                    var (array, index) = ((int[], int))s!;
                    array[index] = e is null ? r.Partition : -1;
                }, (ours, i));
            }

            await producer.FlushAsync(ct);
        }

        var used = new HashSet<int>();
        for (var i = 0; i < Keys; i++)
        {
            Assert.Equal(confluent[i], ours[i]);
            Assert.Equal(confluent[i], Murmur2.Partition(keys[i], Partitions));
            used.Add(ours[i]);
        }

        Assert.Equal(Partitions, used.Count);
    }

    [Fact(Timeout = 60_000)]
    public async Task Records_without_keys_stick_to_one_partition_per_batch_and_spread_over_all_partitions()
    {
        const int Partitions = 4;
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("sticky");
        await broker.CreateTopicAsync(topic, Partitions, 1, ct);
        var counts = new int[Partitions];
        await using (var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = broker.BootstrapServers, BatchSize = 2048 }))
        {
            for (var i = 0; i < 4000; i++)
            {
                producer.Produce(topic, new ProducerRecord { KeyIsNull = true, Value = new byte[100] }, static (in Messaging.DeliveryResult r, ProduceException? e, object? s) =>
                {
                    if (e is null)
                    {
                        Interlocked.Increment(ref ((int[])s!)[r.Partition]);
                    }
                }, counts);
            }

            await producer.FlushAsync(ct);
        }

        Assert.Equal(4000, counts.Sum());
        Assert.All(counts, c => Assert.True(c > 0, "every partition got records"));
    }
}
