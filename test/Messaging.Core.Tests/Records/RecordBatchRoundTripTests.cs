using Messaging.Core.Tests.Support;
using FsCheck.Xunit;
using Messaging.Compression;
using Messaging.Records;
using Xunit;

namespace Messaging.Core.Tests.Records;

[Collection(Support.SharedCodecPoolsCollection.Name)]
public sealed class RecordBatchRoundTripTests
{
    private static readonly CompressionType[] AllCodecs = [CompressionType.None, CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd];

    private static List<TestRecord> MakeRecords(byte[]?[] keys, byte[]?[] values, long baseTimestamp, int[] deltas, string?[] headerKeys, bool large)
    {
        int count = Math.Clamp(Math.Max(keys.Length, values.Length), 1, 300);
        long ts0 = (long)((ulong)baseTimestamp % (1UL << 50)); // realistic epoch-millisecond range
        var records = new List<TestRecord>(count);
        for (int i = 0; i < count; i++)
        {
            byte[]? key = keys.Length == 0 ? null : keys[i % keys.Length];
            byte[]? value = values.Length == 0 ? [] : values[i % values.Length];
            if (large && i == count / 2)
            {
                value = new byte[300_000];
                new Random(i).NextBytes(value);
            }

            var headers = new List<(string, byte[]?)>();
            for (int h = 0; h < headerKeys.Length && h < (i % 4); h++)
            {
                string? hk = headerKeys[(i + h) % headerKeys.Length];
                if (hk is not null)
                {
                    headers.Add((hk, values.Length == 0 ? null : values[(i + h) % values.Length]));
                }
            }

            long delta = deltas.Length == 0 ? 0 : deltas[i % deltas.Length];
            records.Add(new TestRecord(ts0 + delta, key, value, headers.ToArray()));
        }

        return records;
    }

    [Property(MaxTest = 150)]
    public void Batches_round_trip_with_every_codec(byte[]?[] keys, byte[]?[] values, long baseTimestamp, int[] timestampDeltas, string?[] headerKeys, bool large)
    {
        List<TestRecord> records = MakeRecords(keys, values, baseTimestamp, timestampDeltas, headerKeys, large && (timestampDeltas.Length % 5 == 0));
        foreach (CompressionType codec in AllCodecs)
        {
            byte[] batch = RecordTestHelpers.Build(records, codec);
            var (batches, decoded, _) = RecordTestHelpers.ReadAll(batch);
            RecordBatch single = Assert.Single(batches);
            Assert.Equal(codec, single.Compression);
            Assert.Equal(records.Count, single.RecordCount);
            Assert.Equal(records.Count - 1, single.LastOffsetDelta);
            Assert.Equal(records[0].Timestamp, single.BaseTimestamp);
            Assert.Equal(records.Max(r => r.Timestamp), single.MaxTimestamp);
            RecordTestHelpers.AssertSame(records, decoded);
        }
    }

    [Property(MaxTest = 50)]
    public void Batch_header_fields_round_trip(long baseOffset, int leaderEpoch, long producerId, short producerEpoch, int baseSequence, bool transactional, bool logAppendTime)
    {
        var records = new List<TestRecord> { new(1000, [1], [2], []), new(900, null, null, []), new(1500, [], [], []) };
        foreach (CompressionType codec in AllCodecs)
        {
            byte[] batch = RecordTestHelpers.Build(records, codec, b =>
            {
                b.BaseOffset = baseOffset;
                b.PartitionLeaderEpoch = leaderEpoch;
                b.ProducerId = producerId;
                b.ProducerEpoch = producerEpoch;
                b.BaseSequence = baseSequence;
                b.IsTransactional = transactional;
                b.TimestampType = logAppendTime ? TimestampType.LogAppendTime : TimestampType.CreateTime;
            });
            var (batches, decoded, _) = RecordTestHelpers.ReadAll(batch);
            RecordBatch b = Assert.Single(batches);
            Assert.Equal(baseOffset, b.BaseOffset);
            Assert.Equal(leaderEpoch, b.PartitionLeaderEpoch);
            Assert.Equal(producerId, b.ProducerId);
            Assert.Equal(producerEpoch, b.ProducerEpoch);
            Assert.Equal(baseSequence, b.BaseSequence);
            Assert.Equal(transactional, b.IsTransactional);
            Assert.False(b.IsControl);
            Assert.Equal(logAppendTime ? TimestampType.LogAppendTime : TimestampType.CreateTime, b.TimestampType);
            Assert.Equal(1000, b.BaseTimestamp);
            Assert.Equal(1500, b.MaxTimestamp);
            Assert.Equal(baseOffset + 2, b.LastOffset);
            Assert.Equal(3, decoded.Count);
            for (int i = 0; i < 3; i++)
            {
                Assert.Equal(baseOffset + i, decoded[i].Offset);
                // Under log-append time every record carries the batch's max timestamp.
                Assert.Equal(logAppendTime ? 1500 : records[i].Timestamp, decoded[i].Timestamp);
            }
        }
    }

    [Fact]
    public void Several_batches_in_one_buffer_read_in_order_and_a_partial_tail_stops_cleanly()
    {
        var all = new List<byte>();
        var expected = new List<TestRecord>();
        for (int b = 0; b < 5; b++)
        {
            var records = Enumerable.Range(0, 10).Select(i => new TestRecord(b * 100 + i, [(byte)b, (byte)i], new byte[b * 10], [])).ToList();
            all.AddRange(RecordTestHelpers.Build(records, AllCodecs[b], x => x.BaseOffset = b * 10));
            expected.AddRange(records);
        }

        byte[] data = all.ToArray();
        var (batches, decoded, reader) = RecordTestHelpers.ReadAll(data);
        Assert.Equal(5, batches.Count);
        Assert.False(reader.HasPartialBatch);
        RecordTestHelpers.AssertSame(expected, decoded);

        // Cut anywhere inside the last batch: four batches are read, then the reader stops without throwing.
        int lastStart = batches[4].Position;
        for (int cut = lastStart; cut < data.Length; cut++)
        {
            var (partial, partialRecords, r) = RecordTestHelpers.ReadAll(data.AsMemory(0, cut));
            Assert.Equal(4, partial.Count);
            Assert.Equal(40, partialRecords.Count);
            Assert.Equal(cut > lastStart, r.HasPartialBatch);
            Assert.Equal(cut - lastStart, r.RemainingBytes);
        }
    }

    [Fact]
    public void Decoding_into_a_reused_span_allocates_nothing_per_batch()
    {
        var records = Enumerable.Range(0, 1000).Select(i => new TestRecord(i, new byte[16], new byte[100], [("h", [1])])).ToList();
        byte[] plain = RecordTestHelpers.Build(records);
        byte[] lz4 = RecordTestHelpers.Build(records, CompressionType.Lz4);
        byte[] zstd = RecordTestHelpers.Build(records, CompressionType.Zstd);
        var views = new RecordView[1000];
        byte[][] inputs = [plain, lz4, zstd];
        using var buffer = new DecompressionBuffer(1 << 20);

        long DecodeAll()
        {
            long sum = 0;
            foreach (byte[] data in inputs)
            {
                buffer.Reset();
                var reader = new RecordBatchReader(data);
                while (reader.TryReadNext(out RecordBatch batch))
                {
                    RecordReader rr = batch.GetRecords(buffer);
                    int n = rr.Read(views);
                    for (int i = 0; i < n; i++)
                    {
                        sum += views[i].Value.Length + views[i].Headers.Count;
                        foreach (RecordHeader h in views[i].Headers)
                        {
                            sum += h.Value.Length;
                        }
                    }
                }
            }

            return sum;
        }

        long total = 0;
        Assert.Equal(0, Allocations.SteadyState(() => total += DecodeAll(), 10));
        Assert.Equal(31 * 3 * 1000 * 102L, total); // one warm-up call and three rounds of ten, every record seen
    }

    [Fact]
    public void Building_into_a_reused_builder_allocates_nothing()
    {
        byte[] key = new byte[16];
        byte[] value = new byte[100];
        RecordHeader[] headers = [new RecordHeader("trace-id", new byte[8])];
        using var builder = new RecordBatchBuilder();
        foreach (CompressionType codec in new[] { CompressionType.None, CompressionType.Lz4, CompressionType.Zstd })
        {
            builder.Compression = codec;
            void BuildOne()
            {
                builder.Reset();
                for (int i = 0; i < 1000; i++)
                {
                    builder.Append(1_700_000_000_000 + i, key, value, headers);
                }

                builder.Build();
            }

            BuildOne();
            Assert.Equal(0, Allocations.SteadyState(BuildOne, 5));
        }
    }

    [Fact]
    public void Builder_rules()
    {
        using var builder = new RecordBatchBuilder();
        Assert.Throws<InvalidOperationException>(() => builder.Build());
        builder.Append(1, "a"u8, "b"u8);
        ReadOnlyMemory<byte> first = builder.Build();
        Assert.True(first.Span.SequenceEqual(builder.Build().Span));
        Assert.Throws<InvalidOperationException>(() => builder.Append(2, "a"u8, "b"u8));
        builder.Reset();
        builder.Append(2, "a"u8, "b"u8);
        Assert.Equal(1, builder.Count);
        builder.Dispose();
        builder.Dispose();
        Assert.Throws<ObjectDisposedException>(() => builder.Append(2, "a"u8, "b"u8));
    }

    [Fact]
    public void Estimate_is_an_upper_bound()
    {
        using var builder = new RecordBatchBuilder();
        RecordHeader[] headers = [new RecordHeader("ключ", new byte[300]), RecordHeader.WithNullValue("n")];
        int before = builder.UncompressedSize;
        builder.Append(long.MaxValue, new byte[200], new byte[70_000], headers);
        Assert.True(builder.UncompressedSize - before <= RecordBatchBuilder.EstimateRecordSize(200, 70_000, headers));
    }

    [Fact]
    public void Control_batches_carry_transaction_markers()
    {
        foreach (ControlRecordType type in new[] { ControlRecordType.Commit, ControlRecordType.Abort })
        {
            using var builder = new RecordBatchBuilder();
            builder.ProducerId = 42;
            builder.ProducerEpoch = 3;
            builder.IsTransactional = true;
            builder.BaseOffset = 99;
            builder.AppendControlRecord(5000, type, coordinatorEpoch: 17);
            byte[] bytes = builder.Build().ToArray();

            var reader = new RecordBatchReader(bytes);
            Assert.True(reader.TryReadNext(out RecordBatch batch));
            Assert.True(batch.IsControl);
            Assert.True(batch.IsTransactional);
            Assert.Equal(42, batch.ProducerId);
            RecordReader records = batch.GetRecords();
            Assert.True(records.TryRead(out RecordView record));
            Assert.Equal(99, record.Offset);
            ControlRecord marker = ControlRecord.Parse(record);
            Assert.Equal(type, marker.Type);
            Assert.True(marker.IsTransactionMarker);
            Assert.Equal(0, marker.KeyVersion);
            Assert.Equal(0, marker.ValueVersion);
            Assert.Equal(17, marker.CoordinatorEpoch);

            // Key: version 0, type; value: version 0, epoch 17 (spec 5.3.1.1).
            Assert.Equal(new byte[] { 0, 0, 0, (byte)type }, record.Key.ToArray());
            Assert.Equal(new byte[] { 0, 0, 0, 0, 0, 17 }, record.Value.ToArray());
        }
    }
}
