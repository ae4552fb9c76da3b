using Messaging.Protocol;
using Xunit;

namespace Messaging.Core.Tests.Protocol;

public sealed class KafkaReaderMalformedInputTests
{
    private delegate void ReadAction(ref KafkaReader reader);

    private static KafkaProtocolException Fails(string hex, ReadAction read, ProtocolLimits? limits = null)
    {
        byte[] bytes = Convert.FromHexString(hex);
        try
        {
            var reader = new KafkaReader(bytes.AsMemory(), limits ?? ProtocolLimits.Default) { MessageName = "TestMessage" };
            read(ref reader);
        }
        catch (KafkaProtocolException e)
        {
            return e;
        }

        Assert.Fail("No KafkaProtocolException for " + hex);
        return null!;
    }

    [Fact]
    public void Length_beyond_the_remaining_bytes_names_message_field_offset_and_reason()
    {
        // Two bytes of padding, then an int32 length of 2147483647 followed by 3 bytes.
        KafkaProtocolException e = Fails("AAAA" + "7FFFFFFF" + "010203", (ref KafkaReader r) =>
        {
            r.Skip(2);
            _ = r.ReadBytes("Payload");
        });
        Assert.Equal("TestMessage", e.MessageName);
        Assert.Equal("Payload", e.FieldName);
        Assert.Equal(2, e.Offset);
        Assert.Equal("Malformed TestMessage.Payload at byte offset 2: length 2147483647 exceeds the 3 bytes that remain", e.Message);
    }

    [Fact]
    public void Truncated_fixed_width_field_is_reported()
    {
        KafkaProtocolException e = Fails("000000", (ref KafkaReader r) => r.ReadInt32("Count"));
        Assert.Equal("Malformed TestMessage.Count at byte offset 0: needs 4 bytes but only 3 remain", e.Message);
    }

    [Theory]
    [InlineData("FFFF")] // -1 for a non-nullable string
    [InlineData("FFFE")] // -2
    public void Negative_classic_string_length_is_rejected(string hex) =>
        Fails(hex, (ref KafkaReader r) => r.ReadString("Name"));

    [Fact]
    public void Null_compact_string_is_rejected_where_not_nullable() =>
        Fails("00", (ref KafkaReader r) => r.ReadCompactString("Name"));

    [Fact]
    public void Nullable_string_below_minus_one_is_rejected() =>
        Fails("FFFE", (ref KafkaReader r) => r.ReadNullableString("Name"));

    [Fact]
    public void Nullable_bytes_below_minus_one_is_rejected() =>
        Fails("FFFFFFFE", (ref KafkaReader r) => r.ReadNullableBytes("Data"));

    [Fact]
    public void Compact_length_that_cannot_fit_an_int_is_rejected() =>
        Fails("FFFFFFFF0F", (ref KafkaReader r) => r.ReadCompactBytes("Data"));

    [Fact]
    public void Overlong_varint_is_rejected() =>
        Fails("808080808001", (ref KafkaReader r) => r.ReadUnsignedVarint("Count"));

    [Fact]
    public void String_longer_than_the_configured_limit_is_rejected_before_decoding()
    {
        var limits = new ProtocolLimits { MaxStringBytes = 3 };
        KafkaProtocolException e = Fails("0561626364650000", (ref KafkaReader r) => r.ReadCompactString("Name"), limits);
        Assert.Contains("exceeds the configured limit of 3 (ProtocolLimits.MaxStringBytes)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bytes_longer_than_the_configured_limit_are_rejected()
    {
        var limits = new ProtocolLimits { MaxBytesLength = 2 };
        KafkaProtocolException e = Fails("04010203", (ref KafkaReader r) => r.ReadCompactBytes("Data"), limits);
        Assert.Contains("ProtocolLimits.MaxBytesLength", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Array_count_above_the_remaining_bytes_is_rejected()
    {
        KafkaProtocolException e = Fails("00000005" + "01020304", (ref KafkaReader r) => r.ReadArrayLength("Items"));
        Assert.Contains("array count 5 exceeds the 4 bytes that remain", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Array_count_above_the_configured_limit_is_rejected()
    {
        var limits = new ProtocolLimits { MaxArrayCount = 2 };
        KafkaProtocolException e = Fails("04" + "010203", (ref KafkaReader r) => r.ReadCompactArrayLength("Items"), limits);
        Assert.Contains("ProtocolLimits.MaxArrayCount", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Negative_array_count_is_rejected() =>
        Fails("FFFFFFFE", (ref KafkaReader r) => r.ReadNullableArrayLength("Items"));

    [Fact]
    public void Tagged_field_size_beyond_the_remaining_bytes_is_rejected() =>
        Fails("01" + "00" + "10" + "0102", (ref KafkaReader r) => r.SkipTaggedFields());

    [Fact]
    public void Tagged_field_count_that_cannot_fit_is_rejected() =>
        Fails("05" + "0000", (ref KafkaReader r) => r.SkipTaggedFields());

    [Fact]
    public void Unknown_tagged_fields_are_skipped()
    {
        // Two tagged fields (tags 3 and 90) of 2 and 1 bytes, then an int8.
        var reader = new KafkaReader(Convert.FromHexString("02" + "03" + "02" + "ABCD" + "5A" + "01" + "EF" + "07"));
        reader.SkipTaggedFields();
        Assert.Equal(7, reader.ReadInt8());
    }

    [Fact]
    public void Known_tagged_field_that_overruns_its_declared_size_is_rejected() =>
        Fails("01" + "00" + "01" + "00000001", (ref KafkaReader r) =>
        {
            _ = r.ReadTaggedFieldCount();
            _ = r.ReadTaggedFieldHeader(out int size);
            int start = r.Position;
            _ = r.ReadInt32("Known");
            r.EndTaggedField(start, size, "Known");
        });

    [Fact]
    public void Trailing_bytes_are_reported_by_EnsureEnd() =>
        Fails("0000000100", (ref KafkaReader r) =>
        {
            _ = r.ReadInt32();
            r.EnsureEnd();
        });

    [Fact]
    public void A_length_of_two_gigabytes_allocates_nothing_before_it_is_rejected()
    {
        // A span-backed reader would copy a bytes field; the limit checks must come before the copy.
        byte[] bytes = Convert.FromHexString("7FFFFFFF" + "00");
        byte[] compact = Convert.FromHexString("FFFFFFFF07" + "00"); // uvarint 2^31-1 => length 2^31-2
        byte[] array = Convert.FromHexString("7FFFFFFF" + "00");
        Measure(bytes, static (ref KafkaReader r) => r.ReadBytes("Data"));
        Measure(compact, static (ref KafkaReader r) => r.ReadCompactString("Name"));
        Measure(array, static (ref KafkaReader r) => r.ReadArrayLength("Items"));

        // Warm up once so the exception machinery's first-use allocations do not count, then measure.
        static void Measure(byte[] input, ReadAction read)
        {
            Attempt(input, read);
            long before = GC.GetAllocatedBytesForCurrentThread();
            Attempt(input, read);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated < 64 * 1024, "allocated " + allocated + " bytes");
        }

        static void Attempt(byte[] input, ReadAction read)
        {
            try
            {
                var reader = new KafkaReader(input.AsSpan());
                read(ref reader);
                Assert.Fail("accepted a 2 GB length");
            }
            catch (KafkaProtocolException)
            {
            }
        }
    }

    [Fact]
    public void Limits_reject_negative_values() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new ProtocolLimits { MaxArrayCount = -1 });
}
