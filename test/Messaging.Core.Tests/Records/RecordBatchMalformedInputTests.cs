using System.Buffers.Binary;
using System.Diagnostics;
using FsCheck.Xunit;
using Messaging.Compression;
using Messaging.Records;
using Xunit;

namespace Messaging.Core.Tests.Records;

public sealed class RecordBatchMalformedInputTests
{
    private static readonly CompressionType[] AllCodecs = [CompressionType.None, CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd];

    private static readonly RecordDecoderOptions NoCrc = new() { VerifyCrc = false, MaxDecompressedBatchBytes = 1 << 20 };
    private static readonly RecordDecoderOptions WithCrc = new() { MaxDecompressedBatchBytes = 1 << 20 };

    private static byte[] SampleBatch(CompressionType codec, int seed = 1)
    {
        var random = new Random(seed);
        var records = new List<TestRecord>();
        for (int i = 0; i < 20; i++)
        {
            byte[] key = new byte[random.Next(0, 20)];
            byte[] value = new byte[random.Next(0, 200)];
            random.NextBytes(key);
            random.NextBytes(value);
            records.Add(new TestRecord(1_700_000_000_000 + random.Next(-1000, 1000), i % 5 == 0 ? null : key, i % 7 == 0 ? null : value,
                i % 3 == 0 ? [("h" + i, value), ("n", null)] : []));
        }

        return RecordTestHelpers.Build(records, codec);
    }

    /// <summary>Decodes everything; only success or exactly <see cref="KafkaProtocolException"/>, in bounded time and allocation.</summary>
    private static void DecodeOrTypedError(byte[] input, RecordDecoderOptions options)
    {
        using var buffer = new DecompressionBuffer(4096);
        var views = new RecordView[64];
        var watch = Stopwatch.StartNew();
        long before = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            var reader = new RecordBatchReader(input, options);
            while (reader.TryReadNext(out RecordBatch batch))
            {
                RecordReader records = batch.GetRecords(buffer);
                while (records.Read(views) > 0)
                {
                    foreach (RecordView v in views)
                    {
                        foreach (RecordHeader h in v.Headers)
                        {
                            _ = h.Value.Length;
                        }
                    }
                }

                if (batch.IsControl)
                {
                    RecordReader again = batch.GetRecords(buffer);
                    while (again.TryRead(out RecordView v))
                    {
                        ControlRecord.Parse(v);
                    }
                }
            }
        }
        catch (Exception e)
        {
            Assert.IsType<KafkaProtocolException>(e, exactMatch: true);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), "took " + watch.Elapsed);
        // Exceptions, stack traces and gzip's streams allocate a little; nothing may scale with what the input claims.
        Assert.True(allocated < 512 * 1024, "allocated " + allocated);
        Assert.True(buffer.Capacity <= 4 << 20, "decompression buffer grew to " + buffer.Capacity);
    }

    [Property(MaxTest = 500)]
    public void Random_bytes_throw_only_the_typed_exception(byte[] input, bool verifyCrc)
    {
        DecodeOrTypedError(input, verifyCrc ? WithCrc : NoCrc);
    }

    [Property(MaxTest = 300)]
    public void Random_bytes_behind_a_plausible_header_throw_only_the_typed_exception(byte[] tail, byte attributes, int count, byte magic)
    {
        // A header that passes the framing checks, so the random bytes reach the record and codec decoders.
        byte[] input = new byte[61 + tail.Length];
        BinaryPrimitives.WriteInt32BigEndian(input.AsSpan(8), 49 + tail.Length);
        input[16] = (byte)(magic % 3);
        BinaryPrimitives.WriteInt16BigEndian(input.AsSpan(21), (short)(attributes & 0x3F));
        BinaryPrimitives.WriteInt32BigEndian(input.AsSpan(57), count % 64);
        tail.CopyTo(input, 61);
        RecordTestHelpers.FixCrc(input);
        DecodeOrTypedError(input, WithCrc);
    }

    [Property(MaxTest = 300)]
    public void Mutated_batches_with_a_fixed_crc_throw_only_the_typed_exception(int position, byte xor, byte codecChoice, int seed)
    {
        CompressionType codec = AllCodecs[codecChoice % AllCodecs.Length];
        byte[] batch = SampleBatch(codec, seed);
        int at = (int)((uint)position % (uint)batch.Length);
        batch[at] ^= xor == 0 ? (byte)0x80 : xor;
        RecordTestHelpers.FixCrc(batch);
        DecodeOrTypedError(batch, WithCrc);
    }

    [Property(MaxTest = 200)]
    public void Mutated_length_fields_throw_only_the_typed_exception(int newValue, byte field, byte codecChoice)
    {
        CompressionType codec = AllCodecs[codecChoice % AllCodecs.Length];
        byte[] batch = SampleBatch(codec);
        switch (field % 3)
        {
            case 0:
                BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(8), newValue); // batchLength
                break;
            case 1:
                BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(57), newValue); // recordCount
                break;
            default:
                BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(23), newValue); // lastOffsetDelta (not a length; must not matter)
                break;
        }

        RecordTestHelpers.FixCrc(batch);
        DecodeOrTypedError(batch, WithCrc);
    }

    [Theory]
    [InlineData(int.MinValue)]
    [InlineData(-1)]
    [InlineData(0)]
    [InlineData(13)]
    [InlineData(48)]
    public void A_batch_length_below_the_minimum_is_rejected(int length)
    {
        byte[] batch = SampleBatch(CompressionType.None);
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(8), length);
        var e = Assert.Throws<KafkaProtocolException>(() => new RecordBatchReader(batch).TryReadNext(out _));
        Assert.Equal("BatchLength", e.FieldName);
        Assert.Equal(8, e.Offset);
    }

    [Theory]
    // Base offset long.MaxValue, one record: the offset after the batch would wrap to long.MinValue.
    [InlineData("7FFFFFFFFFFFFFFF00000039FFFFFFFF025B75ED7000000000000000000000000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFFFFFF000000010E00000001020100")]
    // Last offset delta -1: the batch would end before it starts.
    [InlineData("000000000000000000000039FFFFFFFF02C96C9DF50000FFFFFFFF00000000000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFFFFFF000000010E00000001020100")]
    public void A_batch_whose_last_offset_does_not_fit_is_rejected(string hex)
    {
        byte[] batch = Convert.FromHexString(hex);
        var e = Assert.Throws<KafkaProtocolException>(() => new RecordBatchReader(batch).TryReadNext(out _));
        Assert.Equal("LastOffsetDelta", e.FieldName);
        Assert.Equal(RecordBatchLayout.LastOffsetDelta, e.Offset);
    }

    [Theory]
    // Base offset long.MinValue, record offset delta -1: the record's offset would wrap to long.MaxValue.
    [InlineData("800000000000000000000039FFFFFFFF02636482DC00000000000000000000000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFFFFFF000000010E00000101020100")]
    // Last offset delta 0, second record's offset delta 1: past the batch's last offset.
    [InlineData("000000000000000000000041FFFFFFFF02EDD5BD4000000000000000000000000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFFFFFF000000020E000000010201000E00000201020100")]
    public void A_record_offset_outside_its_batch_is_rejected(string hex)
    {
        byte[] batch = Convert.FromHexString(hex);
        var e = Assert.Throws<KafkaProtocolException>(() => RecordTestHelpers.ReadAll(batch));
        Assert.Equal("OffsetDelta", e.FieldName);
    }

    [Fact]
    public void A_batch_length_past_the_end_is_a_partial_batch_not_an_error()
    {
        byte[] batch = SampleBatch(CompressionType.None);
        BinaryPrimitives.WriteInt32BigEndian(batch.AsSpan(8), int.MaxValue);
        var reader = new RecordBatchReader(batch);
        Assert.False(reader.TryReadNext(out _));
        Assert.True(reader.HasPartialBatch);
    }

    [Theory]
    [InlineData(CompressionType.None)]
    [InlineData(CompressionType.Gzip)]
    [InlineData(CompressionType.Snappy)]
    [InlineData(CompressionType.Lz4)]
    [InlineData(CompressionType.Zstd)]
    public void A_batch_whose_length_field_claims_fewer_bytes_throws_the_typed_exception(CompressionType codec)
    {
        byte[] batch = SampleBatch(codec);
        for (int length = 49; length < batch.Length - 12; length += 7)
        {
            byte[] cut = batch.AsSpan(0, 12 + length).ToArray();
            BinaryPrimitives.WriteInt32BigEndian(cut.AsSpan(8), length);
            RecordTestHelpers.FixCrc(cut);
            var e = Record.Exception(() => RecordTestHelpers.ReadAll(cut, WithCrc));
            Assert.IsType<KafkaProtocolException>(e, exactMatch: true);
        }
    }

    [Fact]
    public void Record_count_mismatches_are_detected()
    {
        byte[] batch = SampleBatch(CompressionType.None);
        byte[] more = (byte[])batch.Clone();
        BinaryPrimitives.WriteInt32BigEndian(more.AsSpan(57), 21);
        RecordTestHelpers.FixCrc(more);
        Assert.Contains("more records", Assert.Throws<KafkaProtocolException>(() => RecordTestHelpers.ReadAll(more)).Message, StringComparison.Ordinal);

        byte[] fewer = (byte[])batch.Clone();
        BinaryPrimitives.WriteInt32BigEndian(fewer.AsSpan(57), 19);
        RecordTestHelpers.FixCrc(fewer);
        Assert.Contains("left over", Assert.Throws<KafkaProtocolException>(() => RecordTestHelpers.ReadAll(fewer)).Message, StringComparison.Ordinal);

        byte[] huge = (byte[])batch.Clone();
        BinaryPrimitives.WriteInt32BigEndian(huge.AsSpan(57), int.MaxValue);
        RecordTestHelpers.FixCrc(huge);
        Assert.Equal("RecordCount", Assert.Throws<KafkaProtocolException>(() => RecordTestHelpers.ReadAll(huge)).FieldName);
    }

    [Fact]
    public void Unknown_magic_and_compression_are_rejected()
    {
        byte[] batch = SampleBatch(CompressionType.None);
        byte[] magic = (byte[])batch.Clone();
        magic[16] = 3;
        Assert.Equal("Magic", Assert.Throws<KafkaProtocolException>(() => new RecordBatchReader(magic).TryReadNext(out _)).FieldName);

        byte[] codec = (byte[])batch.Clone();
        codec[22] = 5;
        RecordTestHelpers.FixCrc(codec);
        Assert.Equal("Attributes", Assert.Throws<KafkaProtocolException>(() => new RecordBatchReader(codec).TryReadNext(out _)).FieldName);
    }

    [Fact]
    public void Compressed_batches_need_a_buffer_and_respect_the_limit()
    {
        var records = Enumerable.Range(0, 2000).Select(i => new TestRecord(i, null, new byte[1000], [])).ToList();
        byte[] batch = RecordTestHelpers.Build(records, CompressionType.Zstd);
        var reader = new RecordBatchReader(batch, new RecordDecoderOptions { MaxDecompressedBatchBytes = 1 << 20 });
        Assert.True(reader.TryReadNext(out RecordBatch b));
        Assert.Throws<ArgumentNullException>(() => b.GetRecords(null));
        using var buffer = new DecompressionBuffer();
        var e = Assert.Throws<KafkaProtocolException>(() => b.GetRecords(buffer));
        Assert.Contains("limit", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_control_records_throw_the_typed_exception()
    {
        using var builder = new RecordBatchBuilder();
        builder.IsControl = true;
        builder.Append(0, [0, 0], [0, 0, 0, 0, 0, 0]);
        builder.Reset();
        builder.Append(0, [0, 0, 0, 1], [0, 0, 0]);
        var reader = new RecordBatchReader(builder.Build().ToArray());
        Assert.True(reader.TryReadNext(out RecordBatch batch));
        RecordReader records = batch.GetRecords();
        Assert.True(records.TryRead(out RecordView record));
        Assert.Throws<KafkaProtocolException>(() => ControlRecord.Parse(record));

        builder.Reset();
        builder.Append(0, [0xFF, 0xFF, 0, 1], [0, 0, 0, 0, 0, 0]);
        reader = new RecordBatchReader(builder.Build().ToArray());
        Assert.True(reader.TryReadNext(out batch));
        records = batch.GetRecords();
        Assert.True(records.TryRead(out record));
        Assert.Throws<KafkaProtocolException>(() => ControlRecord.Parse(record));

        // Unknown control types parse without a value.
        builder.Reset();
        builder.Append(0, [0, 0, 0, 9], default, default, RecordNulls.Value);
        reader = new RecordBatchReader(builder.Build().ToArray());
        Assert.True(reader.TryReadNext(out batch));
        records = batch.GetRecords();
        Assert.True(records.TryRead(out record));
        Assert.Equal((ControlRecordType)9, ControlRecord.Parse(record).Type);
        Assert.False(ControlRecord.Parse(record).IsTransactionMarker);
    }
}
