using System.Text;
using Messaging.Core.Tests.Records;
using Messaging.Producer;
using Messaging.Protocol;
using Messaging.Records;

namespace Messaging.Core.Tests.Producer;

public sealed class ProducerBatchTests
{
    private static readonly TestRecord[] Records =
    [
        new(1_700_000_000_000, "key"u8.ToArray(), "value"u8.ToArray(), []),
        new(1_700_000_000_005, null, "no key"u8.ToArray(), [("h1", "v1"u8.ToArray()), ("h2", null)]),
        new(1_699_999_999_000, [], null, [("empty", [])]),
        new(1_700_000_000_001, "k"u8.ToArray(), [], []),
    ];

    [Fact]
    public void An_uncompressed_batch_is_byte_for_byte_what_the_record_batch_builder_writes()
    {
        var batch = Fill(Records);
        batch.Seal(CompressionType.None, null, new ContiguousBufferWriter());
        batch.Stamp();
        var expected = RecordTestHelpers.Build(Records);
        Assert.Equal(expected, batch.Wire.ToArray());
    }

    [Theory]
    [InlineData(CompressionType.Gzip)]
    [InlineData(CompressionType.Snappy)]
    [InlineData(CompressionType.Lz4)]
    [InlineData(CompressionType.Zstd)]
    public void A_compressed_batch_decodes_to_the_records_appended(CompressionType codec)
    {
        var records = Enumerable.Range(0, 200).Select(i => new TestRecord(1000 + i, Encoding.UTF8.GetBytes("key-" + (i % 10)), Encoding.UTF8.GetBytes(new string('x', 50) + i), [])).ToArray();
        var batch = Fill(records);
        var uncompressed = batch.Length;
        batch.Seal(codec, null, new ContiguousBufferWriter());
        batch.Stamp();
        Assert.True(batch.Length < uncompressed);
        var (batches, decoded, _) = RecordTestHelpers.ReadAll(batch.Wire);
        Assert.Single(batches);
        Assert.Equal(codec, batches[0].Compression);
        Assert.Equal(records.Length, decoded.Count);
        for (var i = 0; i < records.Length; i++)
        {
            Assert.Equal(i, decoded[i].Offset);
            Assert.Equal(records[i].Key, decoded[i].Key);
            Assert.Equal(records[i].Value, decoded[i].Value);
            Assert.Equal(records[i].Timestamp, decoded[i].Timestamp);
        }
    }

    [Fact]
    public void Incompressible_records_are_sent_uncompressed()
    {
        var random = new byte[4000];
        new Random(7).NextBytes(random);
        var batch = Fill([new TestRecord(1, null, random, [])]);
        var length = batch.Length;
        batch.Seal(CompressionType.Lz4, null, new ContiguousBufferWriter());
        batch.Stamp();
        Assert.Equal(length, batch.Length);
        var (batches, decoded, _) = RecordTestHelpers.ReadAll(batch.Wire);
        Assert.Equal(CompressionType.None, batches[0].Compression);
        Assert.Equal(random, decoded[0].Value);
    }

    [Fact]
    public void Stamping_writes_producer_id_epoch_and_sequence_with_a_valid_crc_and_restamps_when_they_change()
    {
        var batch = Fill(Records);
        batch.SetProducerState(42, 3, 100, isReset: false);
        batch.Seal(CompressionType.None, null, new ContiguousBufferWriter());
        batch.Stamp();
        var (batches, decoded, _) = RecordTestHelpers.ReadAll(batch.Wire.ToArray());
        Assert.Equal(42, batches[0].ProducerId);
        Assert.Equal(3, batches[0].ProducerEpoch);
        Assert.Equal(100, batches[0].BaseSequence);
        Assert.Equal(Records.Length, batches[0].RecordCount);
        Assert.Equal(Records.Length, decoded.Count);
        Assert.Equal(1_700_000_000_005, batches[0].MaxTimestamp);
        Assert.Equal(1_700_000_000_000, batches[0].BaseTimestamp);
        Assert.Equal(103, batch.LastSequence);

        batch.SetProducerState(42, 4, 0, isReset: true);
        batch.Stamp();
        (batches, decoded, _) = RecordTestHelpers.ReadAll(batch.Wire.ToArray()); // the reader checks the CRC
        Assert.Equal(4, batches[0].ProducerEpoch);
        Assert.Equal(0, batches[0].BaseSequence);
        Assert.True(batch.SequenceHasBeenReset);
        Assert.Equal(Records.Length, decoded.Count);
    }

    [Fact]
    public void A_full_batch_refuses_the_next_record_and_a_first_record_always_fits()
    {
        var partition = ProducerTestData.Partition();
        var batch = ProducerBatch.Rent(partition, new byte[4096], 200, 0, long.MaxValue);
        var appended = 0;
        while (batch.TryAppend(1, "k"u8, "0123456789"u8, default, RecordNulls.None, null, null, ProducerTestData.Pool))
        {
            appended++;
        }

        Assert.True(appended > 1);
        Assert.True(batch.Length <= 200);

        var big = ProducerBatch.Rent(partition, new byte[4096], 61 + ProducerBatch.MaxRecordSize(1, 3000, default), 0, long.MaxValue);
        Assert.True(big.TryAppend(1, "k"u8, new byte[3000], default, RecordNulls.None, null, null, ProducerTestData.Pool));
        Assert.False(big.TryAppend(1, "k"u8, new byte[3000], default, RecordNulls.None, null, null, ProducerTestData.Pool));
        Assert.Equal(1, big.Count);
    }

    [Fact]
    public void A_batch_grows_its_buffer_from_the_pool_up_to_its_limit()
    {
        var pool = new BufferPool(1024 * 1024, 64 * 1024);
        var partition = ProducerTestData.Partition();
        var batch = ProducerBatch.Rent(partition, pool.TryRent(4096)!, 64 * 1024, 0, long.MaxValue);
        var value = new byte[1000];
        var count = 0;
        while (batch.TryAppend(count, default, value, default, RecordNulls.Key, null, null, pool))
        {
            count++;
        }

        Assert.InRange(count, 60, 64);
        Assert.Equal(64 * 1024, batch.Buffer.Length);
        Assert.Equal(64 * 1024, pool.InUse); // the smaller buffers went back
        batch.Seal(CompressionType.None, null, new ContiguousBufferWriter());
        batch.Stamp();
        var (_, decoded, _) = RecordTestHelpers.ReadAll(batch.Wire.ToArray());
        Assert.Equal(count, decoded.Count);
    }

    [Fact]
    public void Completing_reports_each_awaited_record_with_its_offset_and_timestamp()
    {
        var partition = ProducerTestData.Partition("topic", 3);
        var batch = ProducerBatch.Rent(partition, new byte[4096], 4096, 0, long.MaxValue);
        var results = new List<(DeliveryResult Result, ProduceException? Error, object? State)>();
        DeliveryHandler handler = (in DeliveryResult r, ProduceException? e, object? s) => results.Add((r, e, s));
        batch.TryAppend(10, "a"u8, "1"u8, default, RecordNulls.None, handler, "first", ProducerTestData.Pool);
        batch.TryAppend(20, "b"u8, "2"u8, default, RecordNulls.None, null, null, ProducerTestData.Pool); // fire-and-forget
        batch.TryAppend(30, "c"u8, "3"u8, default, RecordNulls.None, handler, "third", ProducerTestData.Pool);
        batch.Complete(500, -1, new ProducerLog(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));

        Assert.Equal(2, results.Count);
        Assert.Equal(new DeliveryResult("topic", 3, 500, new Timestamp(10, TimestampType.CreateTime)), results[0].Result);
        Assert.Equal("first", results[0].State);
        Assert.Equal(new DeliveryResult("topic", 3, 502, new Timestamp(30, TimestampType.CreateTime)), results[1].Result);
        Assert.False(batch.IsDone); // done only once it left the flush registry
        var done = batch.WhenDone();
        batch.MarkDone();
        Assert.True(done.IsCompleted);
        Assert.True(batch.WhenDone().IsCompleted);
    }

    [Fact]
    public void A_log_append_time_from_the_broker_replaces_the_record_timestamps()
    {
        var partition = ProducerTestData.Partition();
        var batch = ProducerBatch.Rent(partition, new byte[4096], 4096, 0, long.MaxValue);
        DeliveryResult seen = default;
        batch.TryAppend(10, "a"u8, "1"u8, default, RecordNulls.None, (DeliveryHandler)((in DeliveryResult r, ProduceException? _, object? _) => seen = r), null, ProducerTestData.Pool);
        batch.Complete(7, 99_999, new ProducerLog(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));
        Assert.Equal(new Timestamp(99_999, TimestampType.LogAppendTime), seen.Timestamp);
    }

    [Fact]
    public async Task Failing_gives_every_awaiting_record_the_typed_error()
    {
        var partition = ProducerTestData.Partition();
        var batch = ProducerBatch.Rent(partition, new byte[4096], 4096, 0, long.MaxValue);
        var promises = new[] { DeliveryPromise.Rent(), DeliveryPromise.Rent() };
        var tasks = promises.Select(p => p.AsValueTask().AsTask()).ToArray();
        foreach (var promise in promises)
        {
            batch.TryAppend(1, "k"u8, "v"u8, default, RecordNulls.None, promise, null, ProducerTestData.Pool);
        }

        var error = new ProduceException(ProduceErrorKind.Broker, ErrorCode.MessageTooLarge, partition.TopicPartition, "too large", false);
        batch.Fail(error, new ProducerLog(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));
        foreach (var task in tasks)
        {
            var thrown = await Assert.ThrowsAsync<ProduceException>(() => task);
            Assert.Equal(ErrorCode.MessageTooLarge, thrown.Code);
            Assert.False(thrown.IsRetriable);
            Assert.Equal(ProduceErrorKind.Broker, thrown.Kind);
        }
    }

    [Fact]
    public void Sequences_wrap_as_Kafka_defines()
    {
        Assert.Equal(5, ProducerBatch.IncrementSequence(0, 5));
        Assert.Equal(0, ProducerBatch.IncrementSequence(int.MaxValue, 1));
        Assert.Equal(9, ProducerBatch.IncrementSequence(int.MaxValue - 1, 11));
    }

    [Fact]
    public void Sequences_compare_in_order_across_the_wrap()
    {
        Assert.True(ProducerBatch.CompareSequences(3, 5) < 0);
        Assert.True(ProducerBatch.CompareSequences(5, 3) > 0);
        Assert.Equal(0, ProducerBatch.CompareSequences(int.MaxValue, int.MaxValue));
        Assert.True(ProducerBatch.CompareSequences(int.MaxValue, 0) < 0);
        Assert.True(ProducerBatch.CompareSequences(0, int.MaxValue) > 0);
        Assert.True(ProducerBatch.CompareSequences(int.MaxValue - 10, 7) < 0);
        Assert.True(ProducerBatch.CompareSequences(7, int.MaxValue - 10) > 0);
    }

    [Fact]
    public void Retries_go_back_in_sequence_order_ahead_of_new_batches()
    {
        var partition = ProducerTestData.Partition();
        var queue = new BatchQueue();
        var fresh = ProducerTestData.Batch(partition, 1);
        queue.AddLast(fresh);
        var b10 = ProducerTestData.Batch(partition, 1);
        b10.SetProducerState(1, 0, 10, false);
        var b0 = ProducerTestData.Batch(partition, 1);
        b0.SetProducerState(1, 0, 0, false);
        var b5 = ProducerTestData.Batch(partition, 1);
        b5.SetProducerState(1, 0, 5, false);
        queue.InsertInSequenceOrder(b10);
        queue.InsertInSequenceOrder(b0);
        queue.InsertInSequenceOrder(b5);
        Assert.Same(b0, queue.RemoveFirst());
        Assert.Same(b5, queue.RemoveFirst());
        Assert.Same(b10, queue.RemoveFirst());
        Assert.Same(fresh, queue.RemoveFirst());
        Assert.Equal(0, queue.Count);
    }

    private static ProducerBatch Fill(IEnumerable<TestRecord> records)
    {
        var partition = ProducerTestData.Partition();
        var batch = ProducerBatch.Rent(partition, new byte[256 * 1024], 256 * 1024, 0, long.MaxValue);
        foreach (var r in records)
        {
            var headers = r.Headers.Select(h => h.Value is null ? RecordHeader.WithNullValue(h.Key) : new RecordHeader(h.Key, h.Value)).ToArray();
            var nulls = (r.Key is null ? RecordNulls.Key : RecordNulls.None) | (r.Value is null ? RecordNulls.Value : RecordNulls.None);
            Assert.True(batch.TryAppend(r.Timestamp, r.Key, r.Value, headers, nulls, null, null, ProducerTestData.Pool));
        }

        return batch;
    }
}
