using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using FsCheck.Xunit;
using Messaging.Compression;
using Messaging.Records;
using Xunit;

namespace Messaging.Core.Tests.Records;

/// <summary>
/// Legacy message sets (magic 0 and 1), built here byte by byte from the spec (message-format.html, 5.3.3):
/// <c>offset int64, message_size int32, crc int32, magic int8, attributes int8, [timestamp int64], key bytes, value bytes</c>,
/// with the CRC-32 (IEEE) of magic..value computed by a bitwise implementation independent of the one under test.
/// </summary>
public sealed class LegacyMessageSetTests
{
    private static uint BitwiseCrc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
            }
        }

        return ~crc;
    }

    internal static byte[] Message(long offset, byte magic, byte attributes, long timestamp, byte[]? key, byte[]? value)
    {
        var body = new List<byte> { magic, attributes };
        if (magic == 1)
        {
            body.AddRange(BigEndian(timestamp));
        }

        body.AddRange(BigEndian(key is null ? -1 : key.Length));
        body.AddRange(key ?? []);
        body.AddRange(BigEndian(value is null ? -1 : value.Length));
        body.AddRange(value ?? []);
        byte[] bodyBytes = body.ToArray();

        var entry = new List<byte>();
        entry.AddRange(BigEndian(offset));
        entry.AddRange(BigEndian(4 + bodyBytes.Length));
        entry.AddRange(BigEndian((int)BitwiseCrc32(bodyBytes)));
        entry.AddRange(bodyBytes);
        return entry.ToArray();
    }

    private static byte[] BigEndian(long value)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(b, value);
        return b;
    }

    private static byte[] BigEndian(int value)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(b, value);
        return b;
    }

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    private static byte[] Compress(CompressionType type, byte[] data, bool xerial = false)
    {
        var writer = new ArrayBufferWriter<byte>();
        if (xerial)
        {
            SnappyCodec.CompressXerial(data, writer);
        }
        else
        {
            CompressionCodecs.Get(type).Compress(data, writer, CompressionCodecs.Get(type).DefaultLevel);
        }

        return writer.WrittenSpan.ToArray();
    }

    [Fact]
    public void Magic_0_messages_decode_without_timestamps()
    {
        byte[] set = Concat(
            Message(10, 0, 0, 0, "a"u8.ToArray(), "one"u8.ToArray()),
            Message(11, 0, 0, 0, null, []),
            Message(12, 0, 0, 0, [], null));
        var (batches, records, reader) = RecordTestHelpers.ReadAll(set);
        Assert.Equal(3, batches.Count);
        Assert.All(batches, b =>
        {
            Assert.Equal(0, b.Magic);
            Assert.Equal(TimestampType.NotAvailable, b.TimestampType);
            Assert.Equal(1, b.RecordCount);
            Assert.Equal(-1, b.ProducerId);
            Assert.False(b.IsControl);
        });
        Assert.False(reader.HasPartialBatch);
        Assert.Equal(new long[] { 10, 11, 12 }, records.Select(r => r.Offset));
        Assert.All(records, r => Assert.Equal(-1, r.Timestamp));
        Assert.Equal("a"u8.ToArray(), records[0].Key);
        Assert.Equal("one"u8.ToArray(), records[0].Value);
        Assert.Null(records[1].Key);
        Assert.Equal(Array.Empty<byte>(), records[1].Value);
        Assert.Equal(Array.Empty<byte>(), records[2].Key);
        Assert.Null(records[2].Value);
    }

    [Fact]
    public void Magic_1_messages_carry_their_timestamps()
    {
        byte[] set = Concat(
            Message(5, 1, 0, 1000, "k"u8.ToArray(), "v"u8.ToArray()),
            Message(6, 1, 0x08, 2000, null, "w"u8.ToArray()));
        var (batches, records, _) = RecordTestHelpers.ReadAll(set);
        Assert.Equal(TimestampType.CreateTime, batches[0].TimestampType);
        Assert.Equal(TimestampType.LogAppendTime, batches[1].TimestampType);
        Assert.Equal(1000, batches[0].MaxTimestamp);
        Assert.Equal(new long[] { 5, 6 }, records.Select(r => r.Offset));
        Assert.Equal(new long[] { 1000, 2000 }, records.Select(r => r.Timestamp));
    }

    public static TheoryData<CompressionType, bool> WrapperCodecs => new()
    {
        { CompressionType.Gzip, false },
        { CompressionType.Snappy, false },
        { CompressionType.Snappy, true },
        { CompressionType.Lz4, false },
    };

    [Theory]
    [MemberData(nameof(WrapperCodecs))]
    public void Magic_1_compressed_wrappers_use_relative_inner_offsets(CompressionType codec, bool xerial)
    {
        // Inner offsets 0..2 are relative; the wrapper carries the absolute offset of the last one (102).
        byte[] inner = Concat(
            Message(0, 1, 0, 1000, "k0"u8.ToArray(), "v0"u8.ToArray()),
            Message(1, 1, 0, 1001, null, "v1"u8.ToArray()),
            Message(2, 1, 0, 1003, "k2"u8.ToArray(), null));
        byte[] wrapper = Message(102, 1, (byte)codec, 1003, null, Compress(codec, inner, xerial));
        byte[] after = Message(103, 1, 0, 1004, null, "plain"u8.ToArray());

        var (batches, records, _) = RecordTestHelpers.ReadAll(Concat(wrapper, after));
        Assert.Equal(2, batches.Count);
        Assert.Equal(codec, batches[0].Compression);
        Assert.Equal(-1, batches[0].RecordCount);
        Assert.Equal(102, batches[0].LastOffset);
        Assert.Equal(new long[] { 100, 101, 102, 103 }, records.Select(r => r.Offset));
        Assert.Equal(new long[] { 1000, 1001, 1003, 1004 }, records.Select(r => r.Timestamp));
        Assert.Equal("k0"u8.ToArray(), records[0].Key);
        Assert.Null(records[1].Key);
        Assert.Null(records[2].Value);
        Assert.Equal("plain"u8.ToArray(), records[3].Value);
    }

    [Fact]
    public void Magic_1_log_append_time_wrappers_stamp_every_inner_message()
    {
        byte[] inner = Concat(Message(0, 1, 0, 1, null, [1]), Message(1, 1, 0, 2, null, [2]));
        byte[] wrapper = Message(41, 1, (byte)(CompressionType.Gzip) | 0x08, 9999, null, Compress(CompressionType.Gzip, inner));
        var (_, records, _) = RecordTestHelpers.ReadAll(wrapper);
        Assert.Equal(new long[] { 40, 41 }, records.Select(r => r.Offset));
        Assert.Equal(new long[] { 9999, 9999 }, records.Select(r => r.Timestamp));
    }

    [Fact]
    public void Magic_0_gzip_wrappers_keep_absolute_inner_offsets()
    {
        byte[] inner = Concat(Message(50, 0, 0, 0, null, "a"u8.ToArray()), Message(51, 0, 0, 0, null, "b"u8.ToArray()), Message(52, 0, 0, 0, null, "c"u8.ToArray()));
        byte[] wrapper = Message(52, 0, (byte)CompressionType.Gzip, 0, null, Compress(CompressionType.Gzip, inner));
        var (batches, records, _) = RecordTestHelpers.ReadAll(wrapper);
        Assert.Equal(TimestampType.NotAvailable, Assert.Single(batches).TimestampType);
        Assert.Equal(new long[] { 50, 51, 52 }, records.Select(r => r.Offset));
        Assert.Equal(new[] { "a"u8.ToArray(), "b"u8.ToArray(), "c"u8.ToArray() }, records.Select(r => r.Value));
        Assert.All(records, r => Assert.Equal(-1, r.Timestamp));
    }

    [Fact]
    public void Magic_0_lz4_wrappers_accept_the_broken_header_checksum_of_old_kafka()
    {
        byte[] inner = Concat(Message(7, 0, 0, 0, null, "x"u8.ToArray()));
        byte[] frame = Compress(CompressionType.Lz4, inner);
        frame[6] = (byte)((K4os.Hash.xxHash.XXH32.DigestOf(frame.AsSpan(0, 6)) >> 8) & 0xFF); // hashed over the magic too
        var (_, records, _) = RecordTestHelpers.ReadAll(Message(7, 0, (byte)CompressionType.Lz4, 0, null, frame));
        Assert.Equal(7, Assert.Single(records).Offset);

        // Magic 1 must have the correct checksum.
        byte[] inner1 = Concat(Message(0, 1, 0, 5, null, "x"u8.ToArray()));
        byte[] frame1 = Compress(CompressionType.Lz4, inner1);
        frame1[6] = (byte)((K4os.Hash.xxHash.XXH32.DigestOf(frame1.AsSpan(0, 6)) >> 8) & 0xFF);
        Assert.Throws<KafkaProtocolException>(() => RecordTestHelpers.ReadAll(Message(7, 1, (byte)CompressionType.Lz4, 5, null, frame1)));
    }

    [Fact]
    public void Legacy_messages_and_record_batches_mix_in_one_buffer()
    {
        byte[] legacy = Concat(Message(0, 0, 0, 0, null, [0]), Message(1, 1, 0, 10, null, [1]));
        byte[] v2 = RecordTestHelpers.Build([new TestRecord(20, null, [2], [])], CompressionType.Lz4, b => b.BaseOffset = 2);
        var (batches, records, _) = RecordTestHelpers.ReadAll(Concat(legacy, v2, legacy));
        Assert.Equal(new byte[] { 0, 1, 2, 0, 1 }, batches.Select(b => b.Magic));
        Assert.Equal(new long[] { 0, 1, 2, 0, 1 }, records.Select(r => r.Offset));
    }

    [Fact]
    public void A_partial_legacy_message_at_the_end_stops_cleanly()
    {
        byte[] set = Concat(Message(0, 1, 0, 1, null, [1, 2, 3]), Message(1, 1, 0, 1, null, [4, 5, 6]));
        int firstLength = Message(0, 1, 0, 1, null, [1, 2, 3]).Length;
        for (int cut = firstLength; cut < set.Length; cut++)
        {
            var (batches, _, reader) = RecordTestHelpers.ReadAll(set.AsMemory(0, cut));
            Assert.Single(batches);
            Assert.Equal(cut > firstLength, reader.HasPartialBatch);
        }
    }

    [Fact]
    public void Malformed_legacy_input_throws_the_typed_exception()
    {
        // CRC mismatch.
        byte[] bad = Message(0, 1, 0, 1, null, [1, 2, 3]);
        bad[^1] ^= 1;
        Assert.Equal("Crc", Assert.Throws<KafkaProtocolException>(() => RecordTestHelpers.ReadAll(bad)).FieldName);
        RecordTestHelpers.ReadAll(bad, new RecordDecoderOptions { VerifyCrc = false });

        // Nested compression.
        byte[] nested = Message(0, 1, (byte)CompressionType.Gzip, 1, null, Compress(CompressionType.Gzip, Message(0, 1, 0, 1, null, [1])));
        byte[] outer = Message(0, 1, (byte)CompressionType.Gzip, 1, null, Compress(CompressionType.Gzip, nested));
        Assert.Throws<KafkaProtocolException>(() => RecordTestHelpers.ReadAll(outer));

        // Inner magic differs from the wrapper's.
        byte[] mixed = Message(0, 1, (byte)CompressionType.Gzip, 1, null, Compress(CompressionType.Gzip, Message(0, 0, 0, 0, null, [1])));
        Assert.Equal("Magic", Assert.Throws<KafkaProtocolException>(() => RecordTestHelpers.ReadAll(mixed)).FieldName);

        // Empty inner set, null wrapper value, zstd in a legacy message.
        Assert.Throws<KafkaProtocolException>(() => RecordTestHelpers.ReadAll(Message(0, 1, (byte)CompressionType.Gzip, 1, null, Compress(CompressionType.Gzip, []))));
        Assert.Throws<KafkaProtocolException>(() => RecordTestHelpers.ReadAll(Message(0, 1, (byte)CompressionType.Gzip, 1, null, null)));
        Assert.Throws<KafkaProtocolException>(() => RecordTestHelpers.ReadAll(Message(0, 1, (byte)CompressionType.Zstd, 1, null, [1])));

        // Wrapper offset below the last relative inner offset.
        byte[] inner = Concat(Message(0, 1, 0, 1, null, [1]), Message(5, 1, 0, 1, null, [1]));
        Assert.Equal("Offset", Assert.Throws<KafkaProtocolException>(() => RecordTestHelpers.ReadAll(Message(3, 1, (byte)CompressionType.Gzip, 1, null, Compress(CompressionType.Gzip, inner)))).FieldName);

        // Key length past the message end.
        byte[] keyLength = Message(0, 0, 0, 0, [1, 2], [3]);
        BinaryPrimitives.WriteInt32BigEndian(keyLength.AsSpan(18), 1000);
        Assert.Equal("KeyLength", Assert.Throws<KafkaProtocolException>(() => RecordTestHelpers.ReadAll(keyLength, new RecordDecoderOptions { VerifyCrc = false })).FieldName);

        // A message size below the minimum for its magic.
        byte[] small = Message(0, 1, 0, 0, null, null);
        BinaryPrimitives.WriteInt32BigEndian(small.AsSpan(8), 14);
        Assert.Throws<KafkaProtocolException>(() => RecordTestHelpers.ReadAll(small.AsMemory(0, 26)));
    }

    [Property(MaxTest = 300)]
    public void Mutated_legacy_sets_throw_only_the_typed_exception(int position, byte xor, bool fixCrcs)
    {
        byte[] inner = Concat(Message(0, 1, 0, 1000, "k0"u8.ToArray(), "v0"u8.ToArray()), Message(1, 1, 0, 1001, null, "v1"u8.ToArray()));
        byte[] set = Concat(
            Message(0, 0, 0, 0, "a"u8.ToArray(), "b"u8.ToArray()),
            Message(10, 1, (byte)CompressionType.Gzip, 5, null, Compress(CompressionType.Gzip, inner)),
            Message(11, 1, (byte)CompressionType.Snappy, 5, null, Compress(CompressionType.Snappy, inner)),
            Message(12, 1, (byte)CompressionType.Lz4, 5, null, Compress(CompressionType.Lz4, inner)));
        set[(int)((uint)position % (uint)set.Length)] ^= xor == 0 ? (byte)0x40 : xor;

        var watch = Stopwatch.StartNew();
        var e = Record.Exception(() => RecordTestHelpers.ReadAll(set, new RecordDecoderOptions { VerifyCrc = !fixCrcs, MaxDecompressedBatchBytes = 1 << 20 }));
        if (e is not null)
        {
            Assert.IsType<KafkaProtocolException>(e, exactMatch: true);
        }

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2));
    }

    [Theory]
    // A magic-1 message at offset long.MaxValue: the offset after it would wrap to long.MinValue.
    [InlineData("7FFFFFFFFFFFFFFF000000177A00A3B101000000000000000000FFFFFFFF0000000101")]
    // A gzip magic-1 wrapper at long.MaxValue - 1 whose inner relative offsets are 1 then 0: the first would land on long.MaxValue.
    [InlineData("7FFFFFFFFFFFFFFE0000004843B9B24A01010000000000000000FFFFFFFF000000321F8B080000000000020363600003462016AF6258BC91910106FE03014806210254F298F31337A612260048407BB646000000")]
    public void An_offset_that_does_not_fit_is_rejected(string hex)
    {
        byte[] set = Convert.FromHexString(hex);
        var e = Assert.Throws<KafkaProtocolException>(() => RecordTestHelpers.ReadAll(set));
        Assert.Equal("Offset", e.FieldName);
    }
}
