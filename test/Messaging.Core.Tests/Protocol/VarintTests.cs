using FsCheck.Xunit;
using Messaging.Protocol;
using Xunit;

namespace Messaging.Core.Tests.Protocol;

public sealed class VarintTests
{
    // Kafka uses the Protobuf varint encoding (message-format.html, "Record"); these are the Protobuf
    // documentation's examples plus the boundaries of each length, worked out by hand.
    [Theory]
    [InlineData(0u, "00")]
    [InlineData(1u, "01")]
    [InlineData(127u, "7F")]
    [InlineData(128u, "8001")]
    [InlineData(150u, "9601")]
    [InlineData(300u, "AC02")]
    [InlineData(16383u, "FF7F")]
    [InlineData(16384u, "808001")]
    [InlineData(2097151u, "FFFF7F")]
    [InlineData(2097152u, "80808001")]
    [InlineData(268435455u, "FFFFFF7F")]
    [InlineData(268435456u, "8080808001")]
    [InlineData(uint.MaxValue, "FFFFFFFF0F")]
    public void Unsigned_varint_matches_the_known_encoding(uint value, string hex)
    {
        byte[] expected = Convert.FromHexString(hex);
        var buffer = new byte[5];
        int written = Varint.WriteUnsignedVarint(buffer, value);
        Assert.Equal(expected, buffer.AsSpan(0, written).ToArray());
        Assert.Equal(expected.Length, Varint.SizeOfUnsignedVarint(value));
        Assert.True(Varint.TryReadUnsignedVarint(expected, out uint read, out int bytesRead));
        Assert.Equal(value, read);
        Assert.Equal(expected.Length, bytesRead);
    }

    // Zig-zag table from the Protobuf encoding guide.
    [Theory]
    [InlineData(0, 0u, "00")]
    [InlineData(-1, 1u, "01")]
    [InlineData(1, 2u, "02")]
    [InlineData(-2, 3u, "03")]
    [InlineData(63, 126u, "7E")]
    [InlineData(-64, 127u, "7F")]
    [InlineData(64, 128u, "8001")]
    [InlineData(int.MaxValue, 4294967294u, "FEFFFFFF0F")]
    [InlineData(int.MinValue, 4294967295u, "FFFFFFFF0F")]
    public void Zigzag_varint_matches_the_known_encoding(int value, uint zigzag, string hex)
    {
        Assert.Equal(zigzag, Varint.ZigZagEncode(value));
        byte[] expected = Convert.FromHexString(hex);
        var buffer = new byte[5];
        int written = Varint.WriteVarint(buffer, value);
        Assert.Equal(expected, buffer.AsSpan(0, written).ToArray());
        Assert.Equal(expected.Length, Varint.SizeOfVarint(value));
        Assert.True(Varint.TryReadVarint(expected, out int read, out _));
        Assert.Equal(value, read);
    }

    [Theory]
    [InlineData(0L, "00")]
    [InlineData(-1L, "01")]
    [InlineData(1L, "02")]
    [InlineData(long.MaxValue, "FEFFFFFFFFFFFFFFFF01")]
    [InlineData(long.MinValue, "FFFFFFFFFFFFFFFFFF01")]
    public void Zigzag_varlong_matches_the_known_encoding(long value, string hex)
    {
        byte[] expected = Convert.FromHexString(hex);
        var buffer = new byte[10];
        int written = Varint.WriteVarlong(buffer, value);
        Assert.Equal(expected, buffer.AsSpan(0, written).ToArray());
        Assert.Equal(expected.Length, Varint.SizeOfVarlong(value));
        Assert.True(Varint.TryReadVarlong(expected, out long read, out int bytesRead));
        Assert.Equal(value, read);
        Assert.Equal(expected.Length, bytesRead);
    }

    [Property]
    public bool Unsigned_varint_round_trips_and_size_matches(uint value)
    {
        var buffer = new byte[5];
        int written = Varint.WriteUnsignedVarint(buffer, value);
        return written == Varint.SizeOfUnsignedVarint(value)
            && Varint.TryReadUnsignedVarint(buffer.AsSpan(0, written), out uint read, out int bytesRead)
            && read == value && bytesRead == written;
    }

    [Property]
    public bool Varint_round_trips_and_size_matches(int value)
    {
        var buffer = new byte[5];
        int written = Varint.WriteVarint(buffer, value);
        return written == Varint.SizeOfVarint(value)
            && Varint.TryReadVarint(buffer.AsSpan(0, written), out int read, out int bytesRead)
            && read == value && bytesRead == written;
    }

    [Property]
    public bool Varlong_round_trips_and_size_matches(long value)
    {
        var buffer = new byte[10];
        int written = Varint.WriteVarlong(buffer, value);
        return written == Varint.SizeOfVarlong(value)
            && Varint.TryReadVarlong(buffer.AsSpan(0, written), out long read, out int bytesRead)
            && read == value && bytesRead == written;
    }

    [Property]
    public bool Every_proper_prefix_of_a_varint_is_rejected(uint value)
    {
        var buffer = new byte[5];
        int written = Varint.WriteUnsignedVarint(buffer, value);
        for (int length = 0; length < written; length++)
        {
            if (Varint.TryReadUnsignedVarint(buffer.AsSpan(0, length), out _, out _))
            {
                return false;
            }
        }

        return true;
    }

    [Theory]
    [InlineData("8080808080")] // six-byte form would be needed: 5th byte has the continuation bit
    [InlineData("808080808000")] // overlong: more than 5 bytes
    [InlineData("FFFFFFFF1F")] // 5th byte carries bit 32
    [InlineData("FFFFFFFF7F")]
    [InlineData("")]
    [InlineData("80")]
    public void Invalid_32_bit_varints_are_rejected(string hex)
    {
        Assert.False(Varint.TryReadUnsignedVarint(Convert.FromHexString(hex), out _, out _));
        Assert.False(Varint.TryReadVarint(Convert.FromHexString(hex), out _, out _));
    }

    [Theory]
    [InlineData("80808080808080808080")] // 10th byte has the continuation bit
    [InlineData("8080808080808080808000")]
    [InlineData("FFFFFFFFFFFFFFFFFF02")] // 10th byte carries bit 64
    [InlineData("FFFF")]
    public void Invalid_64_bit_varints_are_rejected(string hex) =>
        Assert.False(Varint.TryReadVarlong(Convert.FromHexString(hex), out _, out _));

    [Fact]
    public void Reading_stops_after_five_bytes_of_continuation_bits_however_long_the_input()
    {
        byte[] endless = new byte[1 << 20];
        endless.AsSpan().Fill(0xFF);
        Assert.False(Varint.TryReadUnsignedVarint(endless, out _, out _));
        Assert.False(Varint.TryReadVarlong(endless, out _, out _));
    }

    [Fact]
    public void Writing_into_a_too_small_destination_throws()
    {
        Assert.Throws<ArgumentException>(() => Varint.WriteUnsignedVarint(new byte[1], 128));
        Assert.Throws<ArgumentException>(() => Varint.WriteVarlong(new byte[2], long.MinValue));
    }
}
