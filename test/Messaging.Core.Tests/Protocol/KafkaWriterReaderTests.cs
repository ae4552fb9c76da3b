using System.Buffers;
using System.Runtime.InteropServices;
using FsCheck.Xunit;
using Messaging.Protocol;
using Xunit;

namespace Messaging.Core.Tests.Protocol;

public sealed class KafkaWriterReaderTests
{
    private delegate void WriteAction(ref KafkaWriter writer);

    private static byte[] Write(WriteAction write)
    {
        var output = new ArrayBufferWriter<byte>();
        var writer = new KafkaWriter(output);
        write(ref writer);
        writer.Flush();
        Assert.Equal(output.WrittenCount, writer.BytesWritten);
        return output.WrittenSpan.ToArray();
    }

    [Property]
    public void Fixed_width_primitives_round_trip(sbyte i8, short i16, ushort u16, int i32, uint u32, long i64, bool flag, double f64)
    {
        byte[] bytes = Write((ref KafkaWriter w) =>
        {
            w.WriteInt8(i8);
            w.WriteInt16(i16);
            w.WriteUInt16(u16);
            w.WriteInt32(i32);
            w.WriteUInt32(u32);
            w.WriteInt64(i64);
            w.WriteBoolean(flag);
            w.WriteFloat64(f64);
        });
        Assert.Equal(1 + 2 + 2 + 4 + 4 + 8 + 1 + 8, bytes.Length);
        var r = new KafkaReader(bytes);
        Assert.Equal(i8, r.ReadInt8());
        Assert.Equal(i16, r.ReadInt16());
        Assert.Equal(u16, r.ReadUInt16());
        Assert.Equal(i32, r.ReadInt32());
        Assert.Equal(u32, r.ReadUInt32());
        Assert.Equal(i64, r.ReadInt64());
        Assert.Equal(flag, r.ReadBoolean());
        Assert.Equal(BitConverter.DoubleToInt64Bits(f64), BitConverter.DoubleToInt64Bits(r.ReadFloat64()));
        Assert.Equal(0, r.Remaining);
    }

    [Property]
    public void Varints_round_trip_through_reader_and_writer_with_matching_sizes(uint u, int i, long l)
    {
        byte[] bytes = Write((ref KafkaWriter w) =>
        {
            w.WriteUnsignedVarint(u);
            w.WriteVarint(i);
            w.WriteVarlong(l);
        });
        Assert.Equal(Varint.SizeOfUnsignedVarint(u) + Varint.SizeOfVarint(i) + Varint.SizeOfVarlong(l), bytes.Length);
        var r = new KafkaReader(bytes);
        Assert.Equal(u, r.ReadUnsignedVarint());
        Assert.Equal(i, r.ReadVarint());
        Assert.Equal(l, r.ReadVarlong());
        Assert.Equal(0, r.Remaining);
    }

    [Property]
    public void Strings_round_trip_in_all_four_forms(string? value)
    {
        // FsCheck strings may hold lone surrogates, which UTF-8 cannot carry; compare against what UTF-8 keeps.
        string? expected = value is null ? null : System.Text.Encoding.UTF8.GetString(System.Text.Encoding.UTF8.GetBytes(value));
        if (expected is not null && System.Text.Encoding.UTF8.GetByteCount(expected) > short.MaxValue)
        {
            return;
        }

        byte[] bytes = Write((ref KafkaWriter w) =>
        {
            w.WriteNullableString(value);
            w.WriteCompactNullableString(value);
            if (value is not null)
            {
                w.WriteString(value);
                w.WriteCompactString(value);
            }
        });
        var r = new KafkaReader(bytes);
        Assert.Equal(expected, r.ReadNullableString());
        Assert.Equal(expected, r.ReadCompactNullableString());
        if (value is not null)
        {
            Assert.Equal(expected, r.ReadString());
            Assert.Equal(expected, r.ReadCompactString());
        }

        Assert.Equal(0, r.Remaining);
    }

    [Fact]
    public void Null_bytes_read_back_as_null_in_every_nullable_form()
    {
        byte[] bytes = Write((ref KafkaWriter w) =>
        {
            w.WriteNullableBytes(null);
            w.WriteCompactNullableBytes(null);
            w.WriteRecords(null, compact: true);
            w.WriteRecords(null, compact: false);
        });
        foreach (bool memoryBacked in new[] { false, true })
        {
            var r = memoryBacked ? new KafkaReader(bytes.AsMemory()) : new KafkaReader(bytes);
            Assert.Null(r.ReadNullableBytes());
            Assert.Null(r.ReadCompactNullableBytes());
            Assert.Null(r.ReadRecords(compact: true));
            Assert.Null(r.ReadRecords(compact: false));
            Assert.Equal(0, r.Remaining);
        }
    }

    [Property]
    public void Bytes_round_trip_in_all_forms(byte[]? value)
    {
        ReadOnlyMemory<byte>? memory = value;
        byte[] bytes = Write((ref KafkaWriter w) =>
        {
            w.WriteNullableBytes(memory);
            w.WriteCompactNullableBytes(memory);
            w.WriteRecords(memory, compact: true);
            w.WriteRecords(memory, compact: false);
            if (value is not null)
            {
                w.WriteBytes(value);
                w.WriteCompactBytes(value);
            }
        });
        var r = new KafkaReader(bytes.AsMemory());
        AssertBytes(value, r.ReadNullableBytes());
        AssertBytes(value, r.ReadCompactNullableBytes());
        AssertBytes(value, r.ReadRecords(compact: true));
        AssertBytes(value, r.ReadRecords(compact: false));
        if (value is not null)
        {
            AssertBytes(value, r.ReadBytes());
            AssertBytes(value, r.ReadCompactBytes());
        }

        Assert.Equal(0, r.Remaining);
    }

    private static void AssertBytes(byte[]? expected, ReadOnlyMemory<byte>? actual)
    {
        Assert.Equal(expected is null, actual is null);
        if (expected is not null)
        {
            Assert.Equal(expected, actual!.Value.ToArray());
        }
    }

    [Property]
    public void Array_lengths_round_trip(ushort count)
    {
        byte[] bytes = Write((ref KafkaWriter w) =>
        {
            w.WriteArrayLength(count);
            w.WriteNullableArrayLength(-1);
            w.WriteCompactArrayLength(count);
            w.WriteCompactNullableArrayLength(-1);
            w.WriteRawBytes(new byte[count]); // the elements, so the counts are plausible
        });
        var r = new KafkaReader(bytes);
        Assert.Equal(count, r.ReadArrayLength());
        Assert.Equal(-1, r.ReadNullableArrayLength());
        Assert.Equal(count, r.ReadCompactArrayLength());
        Assert.Equal(-1, r.ReadCompactNullableArrayLength());
    }

    [Fact]
    public void Compact_lengths_are_length_plus_one_and_zero_is_null()
    {
        byte[] bytes = Write((ref KafkaWriter w) =>
        {
            w.WriteCompactString("abc");
            w.WriteCompactNullableString(null);
            w.WriteCompactArrayLength(0);
            w.WriteNullableString(null);
            w.WriteString("");
            w.WriteNullableBytes(null);
        });
        Assert.Equal("04616263" + "00" + "01" + "FFFF" + "0000" + "FFFFFFFF", Convert.ToHexString(bytes));
    }

    [Fact]
    public void Uuid_uses_kafka_byte_order_and_round_trips()
    {
        // Java: new UUID(0x0011223344556677L, 0x8899AABBCCDDEEFFL) is sent as these 16 bytes, and prints as below.
        var guid = Guid.Parse("00112233-4455-6677-8899-aabbccddeeff");
        byte[] bytes = Write((ref KafkaWriter w) => w.WriteUuid(guid));
        Assert.Equal("00112233445566778899AABBCCDDEEFF", Convert.ToHexString(bytes));
        var r = new KafkaReader(bytes);
        Assert.Equal(guid, r.ReadUuid());
    }

    [Property]
    public bool Any_uuid_round_trips(Guid value)
    {
        byte[] bytes = Write((ref KafkaWriter w) => w.WriteUuid(value));
        var r = new KafkaReader(bytes);
        return r.ReadUuid() == value;
    }

    [Fact]
    public void Memory_backed_reader_returns_slices_of_the_input_without_copying()
    {
        byte[] frame = Write((ref KafkaWriter w) =>
        {
            w.WriteInt32(7);
            w.WriteCompactBytes(new byte[] { 1, 2, 3, 4 });
            w.WriteRecords(new byte[] { 9, 9 }, compact: true);
        });
        var r = new KafkaReader(frame.AsMemory());
        _ = r.ReadInt32();
        ReadOnlyMemory<byte> bytes = r.ReadCompactBytes();
        ReadOnlyMemory<byte> records = r.ReadRecords(compact: true)!.Value;
        Assert.True(MemoryMarshal.TryGetArray(bytes, out ArraySegment<byte> segment));
        Assert.Same(frame, segment.Array);
        Assert.Equal(5, segment.Offset);
        Assert.True(MemoryMarshal.TryGetArray(records, out ArraySegment<byte> recordSegment));
        Assert.Same(frame, recordSegment.Array);
        Assert.Equal(10, recordSegment.Offset);
    }

    [Fact]
    public void Span_backed_reader_copies_bytes_fields()
    {
        byte[] frame = Write((ref KafkaWriter w) => w.WriteCompactBytes(new byte[] { 1, 2, 3 }));
        var r = new KafkaReader(frame.AsSpan());
        ReadOnlyMemory<byte> bytes = r.ReadCompactBytes();
        Assert.True(MemoryMarshal.TryGetArray(bytes, out ArraySegment<byte> segment));
        Assert.NotSame(frame, segment.Array);
        Assert.Equal(new byte[] { 1, 2, 3 }, bytes.ToArray());
    }

    [Property(MaxTest = 200)]
    public void Writes_that_cross_span_boundaries_give_the_same_bytes_as_one_contiguous_buffer(int seed)
    {
        // The writer asks for spans of at least 256 bytes; hundreds of mixed writes cross many boundaries.
        var random = new Random(seed);
        int ops = random.Next(50, 400);
        var choices = new int[ops];
        var values = new long[ops];
        for (int i = 0; i < ops; i++)
        {
            choices[i] = random.Next(9);
            values[i] = random.NextInt64(long.MinValue, long.MaxValue) >> random.Next(64);
        }

        var chunked = new ChunkedBufferWriter();
        var contiguous = new ArrayBufferWriter<byte>();
        WriteAll(chunked, choices, values);
        WriteAll(contiguous, choices, values);
        Assert.Equal(contiguous.WrittenSpan.ToArray(), chunked.ToArray());
    }

    private static void WriteAll(IBufferWriter<byte> output, int[] choices, long[] values)
    {
        var w = new KafkaWriter(output);
        for (int i = 0; i < choices.Length; i++)
        {
            long v = values[i];
            switch (choices[i])
            {
                case 0: w.WriteUnsignedVarint((uint)v); break;
                case 1: w.WriteVarint((int)v); break;
                case 2: w.WriteVarlong(v); break;
                case 3: w.WriteInt64(v); break;
                case 4: w.WriteCompactString(new string('x', (int)((ulong)v % 600))); break;
                case 5: w.WriteString("é" + v); break;
                case 6: w.WriteCompactBytes(new byte[(int)((ulong)v % 1000)]); break;
                case 7: w.WriteInt8((sbyte)v); break;
                default: w.WriteUuid(new Guid((int)v, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)); break;
            }
        }

        w.Flush();
    }

    [Fact]
    public void Reserved_slot_is_filled_in_place_while_its_span_is_uncommitted()
    {
        var output = new ChunkedBufferWriter();
        var w = new KafkaWriter(output);
        Int32Slot slot = w.ReserveInt32();
        w.WriteInt16(5);
        w.WriteReservedInt32(slot, w.BytesSince(slot));
        w.Flush();
        Assert.Equal("000000020005", Convert.ToHexString(output.ToArray()));
    }

    [Fact]
    public void Reserved_slot_is_filled_after_its_span_is_committed_when_the_output_is_contiguous()
    {
        using var output = new ContiguousBufferWriter(16);
        output.GetSpan(3)[..3].Fill(0xAA); // bytes written before the KafkaWriter existed must be left alone
        output.Advance(3);
        var w = new KafkaWriter(output);
        Int32Slot slot = w.ReserveInt32();
        w.WriteRawBytes(new byte[5000]); // forces several spans and a regrowth of the array
        w.WriteReservedInt32(slot, w.BytesSince(slot));
        w.Flush();
        Assert.Equal(3 + 4 + 5000, output.WrittenCount);
        Assert.Equal("AAAAAA00001388", Convert.ToHexString(output.WrittenSpan[..7]));
    }

    [Fact]
    public void Reserved_slot_cannot_be_filled_after_commit_to_a_non_contiguous_output()
    {
        var output = new ChunkedBufferWriter();
        var w = new KafkaWriter(output);
        Int32Slot slot = w.ReserveInt32();
        w.WriteRawBytes(new byte[1000]);
        InvalidOperationException? caught = null;
        try
        {
            w.WriteReservedInt32(slot, 1);
        }
        catch (InvalidOperationException e)
        {
            caught = e;
        }

        Assert.NotNull(caught);
    }

    [Fact]
    public void Default_slot_is_rejected()
    {
        var w = new KafkaWriter(new ArrayBufferWriter<byte>());
        w.WriteInt64(0);
        ArgumentException? caught = null;
        try
        {
            w.WriteReservedInt32(default, 1);
        }
        catch (ArgumentException e)
        {
            caught = e;
        }

        Assert.NotNull(caught);
    }

    [Fact]
    public void Strings_longer_than_32767_utf8_bytes_are_refused()
    {
        string tooLong = new('é', 20000); // 40000 UTF-8 bytes
        ArgumentOutOfRangeException? caught = null;
        try
        {
            var w = new KafkaWriter(new ArrayBufferWriter<byte>());
            w.WriteCompactString(tooLong);
        }
        catch (ArgumentOutOfRangeException e)
        {
            caught = e;
        }

        Assert.NotNull(caught);
    }
}
