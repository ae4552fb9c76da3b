using System.Text;
using FsCheck.Xunit;
using Messaging.Protocol;
using Xunit;

namespace Messaging.Core.Tests.Protocol;

public sealed class Crc32CTests
{
    public static TheoryData<string, uint> Vectors => new()
    {
        { "", 0x00000000u },
        { "123456789", 0xE3069283u },
        { "a", 0xC1D04330u },
        { "The quick brown fox jumps over the lazy dog", 0x22620404u },
    };

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Ascii_vectors(string text, uint expected)
    {
        Assert.Equal(expected, Crc32C.Compute(Encoding.ASCII.GetBytes(text)));
    }

    [Fact]
    public void Iscsi_vectors_from_rfc3720()
    {
        // RFC 3720 appendix B.4.
        Assert.Equal(0x8A9136AAu, Crc32C.Compute(new byte[32]));
        Assert.Equal(0x62A8AB43u, Crc32C.Compute(Enumerable.Repeat((byte)0xFF, 32).ToArray()));
        Assert.Equal(0x46DD794Eu, Crc32C.Compute(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()));
        Assert.Equal(0x113FDB5Cu, Crc32C.Compute(Enumerable.Range(0, 32).Select(i => (byte)(31 - i)).ToArray()));
        byte[] scsiRead =
        [
            0x01, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
            0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ];
        Assert.Equal(0xD9963A56u, Crc32C.Compute(scsiRead));
    }

    [Fact]
    public void Hardware_path_is_used_on_this_machine()
    {
        // Not a correctness requirement, but the throughput target depends on it: flag a silent fallback.
        Assert.True(Crc32C.IsHardwareAccelerated || !(System.Runtime.Intrinsics.X86.Sse42.X64.IsSupported || System.Runtime.Intrinsics.Arm.Crc32.Arm64.IsSupported));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(767)]
    [InlineData(768)]
    [InlineData(769)]
    [InlineData(24575)]
    [InlineData(24576)]
    [InlineData(24577)]
    [InlineData(100_003)]
    [InlineData(1 << 20)]
    public void Hardware_and_software_agree_at_lane_boundaries(int length)
    {
        var data = new byte[length + 3];
        new Random(length).NextBytes(data);
        for (int misalign = 0; misalign < 3; misalign++)
        {
            ReadOnlySpan<byte> span = data.AsSpan(misalign, length);
            Assert.Equal(~Crc32C.UpdateSoftware(0xFFFFFFFFu, span), Crc32C.Compute(span));
        }
    }

    [Property(MaxTest = 300)]
    public void Hardware_and_software_agree(byte[] data, int seed)
    {
        // Stretch some inputs past the interleaved lane sizes.
        if ((seed & 3) == 0 && data.Length > 0)
        {
            data = Enumerable.Repeat(data, 1 + (Math.Abs(seed % 40000) / Math.Max(1, data.Length))).SelectMany(x => x).ToArray();
        }

        Assert.Equal(~Crc32C.UpdateSoftware(0xFFFFFFFFu, data), Crc32C.Compute(data));
    }

    [Property(MaxTest = 200)]
    public void Append_continues_a_crc(byte[] a, byte[] b)
    {
        byte[] both = [.. a, .. b];
        Assert.Equal(Crc32C.Compute(both), Crc32C.Append(Crc32C.Compute(a), b));
    }

    [Fact]
    public void A_flipped_bit_changes_the_crc()
    {
        var data = new byte[4096];
        new Random(7).NextBytes(data);
        uint crc = Crc32C.Compute(data);
        for (int bit = 0; bit < data.Length * 8; bit += 97)
        {
            data[bit / 8] ^= (byte)(1 << (bit % 8));
            Assert.NotEqual(crc, Crc32C.Compute(data));
            data[bit / 8] ^= (byte)(1 << (bit % 8));
        }
    }
}
