using System.Buffers.Binary;
using Messaging.Records;
using Messaging.Testing.Brokers;

namespace Messaging.IntegrationTests.Consumer;

/// <summary>
/// Batches stored on the broker with a wrong CRC, truncated, or decompressing to far more than allowed: the consumer
/// raises a typed error naming the partition and offset, delivers what came before, keeps its position, does not crash,
/// and stays within bounded memory.
/// </summary>
public sealed class ConsumerBadInputTests(TestBrokerFixture fixture)
{
    [Fact(Timeout = 60_000)]
    public async Task A_batch_with_a_wrong_crc_raises_a_typed_error_at_its_offset_and_the_position_stays_there()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, faultInjection: true, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("bad-crc");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        var bad = Batch(10, "b");
        bad[^3] ^= 0x40; // inside the last record's value ("b-9" becomes "bm9"): the CRC no longer matches
        Assert.Equal(0, await RawProducer.ProduceAsync(broker.BootstrapServers, topic, 0, Batch(10, "a"), ct));
        Assert.Equal(10, await RawProducer.ProduceAsync(broker.BootstrapServers, topic, 0, bad, ct));
        Assert.Equal(20, await RawProducer.ProduceAsync(broker.BootstrapServers, topic, 0, Batch(10, "c"), ct));
        var partition = new TopicPartition(topic, 0);

        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(broker.BootstrapServers));
        consumer.Assign([new TopicPartitionOffset(partition, OffsetSpec.Earliest)]);
        var (records, error) = await ReadUntilErrorAsync(consumer, ct);

        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), records.Select(r => r.Offset));
        Assert.NotNull(error);
        Assert.Equal(ConsumeErrorKind.CorruptRecord, error.Kind);
        Assert.Equal(partition, error.TopicPartition);
        Assert.Equal(10, error.Offset);
        Assert.Contains("checksum", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(topic, error.Message, StringComparison.Ordinal);
        Assert.IsType<KafkaProtocolException>(error.InnerException);
        Assert.Equal(10, consumer.Position(partition));

        // Held: nothing more comes until the application seeks; seeking past the batch continues.
        Assert.Empty(await ConsumerTestSupport.ReadAsync(consumer, 1, TimeSpan.FromMilliseconds(300), ct));
        Assert.Equal(10, consumer.Position(partition));
        consumer.Seek(partition, 20);
        var after = await ConsumerTestSupport.ReadAsync(consumer, 10, TimeSpan.FromSeconds(10), ct);
        Assert.Equal(Enumerable.Range(20, 10).Select(i => (long)i), after.Select(r => r.Offset));
        Assert.Equal("c-0"u8.ToArray(), after[0].Value);

        // With CRC checks off the batch is read (its flipped byte included).
        await using var lenient = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(broker.BootstrapServers, o => o.CheckCrcs = false));
        lenient.Assign([new TopicPartitionOffset(partition, OffsetSpec.Earliest)]);
        var all = await ConsumerTestSupport.ReadAsync(lenient, 30, TimeSpan.FromSeconds(10), ct);
        Assert.Equal(30, all.Count);
        Assert.Equal("bm9"u8.ToArray(), all[19].Value);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_truncated_batch_raises_a_typed_error_at_its_offset()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, faultInjection: true, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("truncated");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        var whole = Batch(10, "t");
        var truncated = whole.AsSpan(0, whole.Length - 30).ToArray(); // the length field still claims the whole batch
        await RawProducer.ProduceAsync(broker.BootstrapServers, topic, 0, Batch(5, "a"), ct);
        await RawProducer.ProduceAsync(broker.BootstrapServers, topic, 0, truncated, ct);
        var partition = new TopicPartition(topic, 0);

        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(broker.BootstrapServers));
        consumer.Assign([new TopicPartitionOffset(partition, OffsetSpec.Earliest)]);
        var (records, error) = await ReadUntilErrorAsync(consumer, ct);

        Assert.Equal(5, records.Count);
        Assert.NotNull(error);
        Assert.Equal(ConsumeErrorKind.CorruptRecord, error.Kind);
        Assert.Equal(partition, error.TopicPartition);
        Assert.Equal(5, error.Offset);
        Assert.Contains("truncated", error.Message, StringComparison.Ordinal);
        Assert.Equal(5, consumer.Position(partition));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_decompression_bomb_raises_a_typed_error_without_allocating_what_it_claims()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, faultInjection: true, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("bomb");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        byte[] bomb;
        using (var builder = new RecordBatchBuilder { Compression = CompressionType.Zstd })
        {
            var zeros = new byte[1024 * 1024];
            for (int i = 0; i < 256; i++)
            {
                builder.Append(1_700_000_000_000, default, zeros); // 256 MiB of zeros
            }

            bomb = builder.Build().ToArray();
        }

        Assert.True(bomb.Length < 1024 * 1024, "the bomb is small on the wire");
        await RawProducer.ProduceAsync(broker.BootstrapServers, topic, 0, Batch(3, "a"), ct);
        await RawProducer.ProduceAsync(broker.BootstrapServers, topic, 0, bomb, ct);
        var partition = new TopicPartition(topic, 0);

        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(broker.BootstrapServers, o => o.MaxDecompressedBatchBytes = 8 * 1024 * 1024));
        consumer.Assign([new TopicPartitionOffset(partition, OffsetSpec.Earliest)]);
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var (records, error) = await ReadUntilErrorAsync(consumer, ct);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

        Assert.Equal(3, records.Count);
        Assert.NotNull(error);
        Assert.Equal(ConsumeErrorKind.CorruptRecord, error.Kind);
        Assert.Equal(3, error.Offset);
        Assert.Contains("exceeds the limit", error.Message, StringComparison.Ordinal);
        Assert.True(allocated < 48L * 1024 * 1024, "allocated " + allocated + " bytes for a batch claiming 256 MiB (limit 8 MiB)");
        Assert.Equal(3, consumer.Position(partition));
    }

    private static async Task<(List<ConsumeResult<byte[]?, byte[]?>> Records, ConsumeException? Error)> ReadUntilErrorAsync(KafkaConsumer<byte[]?, byte[]?> consumer, CancellationToken cancellationToken)
    {
        var records = new List<ConsumeResult<byte[]?, byte[]?>>();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));
        try
        {
            await foreach (var record in consumer.ConsumeAsync(timeout.Token))
            {
                records.Add(record);
            }
        }
        catch (ConsumeException ex)
        {
            return (records, ex);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
        }

        return (records, null);
    }

    private static byte[] Batch(int count, string prefix)
    {
        using var builder = new RecordBatchBuilder();
        for (int i = 0; i < count; i++)
        {
            builder.Append(1_700_000_000_000 + i, System.Text.Encoding.UTF8.GetBytes("k" + i), System.Text.Encoding.UTF8.GetBytes(prefix + "-" + i));
        }

        var bytes = builder.Build().ToArray();
        Assert.Equal(count, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(57)));
        return bytes;
    }
}
