using Messaging.Core.Tests.Support;
using System.Buffers;
using System.Diagnostics;
using FsCheck.Xunit;
using Messaging.Compression;
using Messaging.Protocol;
using Xunit;

namespace Messaging.Core.Tests.Compression;

[Collection(Support.SharedCodecPoolsCollection.Name)]
public sealed class CodecMalformedInputTests
{
    private const int Limit = 1 << 20;

    public static TheoryData<CompressionType> AllCodecs => new(CodecTestData.Codecs);

    public static TheoryData<string> Bombs => new("gzip", "snappy", "snappy-xerial", "lz4", "zstd", "zstd-streamed");

    /// <summary>Decompresses and requires success or exactly <see cref="KafkaProtocolException"/>, within bounded time and memory.</summary>
    private static void DecompressOrTypedError(CompressionType type, byte[] input)
    {
        using var buffer = new DecompressionBuffer(4096);
        var watch = Stopwatch.StartNew();
        try
        {
            CompressionCodecs.Get(type).Decompress(input, buffer, Limit, 0);
        }
        catch (Exception e)
        {
            Assert.IsType<KafkaProtocolException>(e, exactMatch: true);
        }

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), type + " took " + watch.Elapsed);
        Assert.True(buffer.Capacity <= 2 * (Limit + (4 << 20)), type + " grew the destination to " + buffer.Capacity);
    }

    [Property(MaxTest = 300)]
    public void Random_bytes_decompress_or_throw_the_typed_exception(byte[] input)
    {
        foreach (CompressionType type in CodecTestData.Codecs)
        {
            DecompressOrTypedError(type, input);
        }
    }

    [Property(MaxTest = 300)]
    public void Random_bytes_behind_a_valid_header_throw_only_the_typed_exception(byte[] tail, byte headerChoice)
    {
        byte[] header = (headerChoice % 4) switch
        {
            0 => [0x1F, 0x8B, 0x08, 0, 0, 0, 0, 0, 0, 0xFF],
            1 => [0x82, (byte)'S', (byte)'N', (byte)'A', (byte)'P', (byte)'P', (byte)'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1],
            2 => [0x04, 0x22, 0x4D, 0x18, 0x60, 0x40, 0x82],
            _ => [0x28, 0xB5, 0x2F, 0xFD],
        };
        byte[] input = [.. header, .. tail];
        foreach (CompressionType type in CodecTestData.Codecs)
        {
            DecompressOrTypedError(type, input);
        }
    }

    [Property(MaxTest = 200)]
    public void Mutated_valid_input_decompresses_or_throws_the_typed_exception(int position, byte xor, int seed)
    {
        byte[] data = CodecTestData.Compressible(20_000, seed);
        foreach (CompressionType type in CodecTestData.Codecs)
        {
            byte[] compressed = CodecTestData.Compress(type, data);
            compressed[(int)((uint)position % (uint)compressed.Length)] ^= xor == 0 ? (byte)1 : xor;
            DecompressOrTypedError(type, compressed);
        }
    }

    [Theory]
    [MemberData(nameof(AllCodecs))]
    public void Every_truncation_throws_the_typed_exception(CompressionType type)
    {
        byte[] data = CodecTestData.Compressible(70_000);
        byte[] compressed = CodecTestData.Compress(type, data);
        for (int length = 0; length < compressed.Length; length += Math.Max(1, length / 16))
        {
            byte[] cut = compressed[..length];
            var e = Record.Exception(() => CodecTestData.Decompress(type, cut, Limit));
            Assert.IsType<KafkaProtocolException>(e, exactMatch: true);
        }
    }

    [Theory]
    [MemberData(nameof(AllCodecs))]
    public void Trailing_garbage_throws_the_typed_exception(CompressionType type)
    {
        if (type == CompressionType.Gzip)
        {
            return; // GZipStream ignores bytes after the last member that are not a member header, as java.util.zip does.
        }

        byte[] compressed = [.. CodecTestData.Compress(type, CodecTestData.Compressible(5000)), 1, 2, 3, 4, 5, 6, 7, 8, 9];
        Assert.Throws<KafkaProtocolException>(() => CodecTestData.Decompress(type, compressed, Limit));
    }

    [Theory]
    [MemberData(nameof(Bombs))]
    public void A_100_MB_bomb_against_a_1_MB_limit_throws_quickly_and_allocates_little(string bomb)
    {
        byte[] input = CodecTestData.GetBomb(bomb);
        CompressionType type = CodecTestData.BombCodec(bomb);
        using var buffer = new DecompressionBuffer(4 << 20);
        ICompressionCodec codec = CompressionCodecs.Get(type);

        // Warm up (static tables, pools) on a small input.
        codec.Decompress(CodecTestData.Compress(type, new byte[10]), buffer, Limit, 0);
        buffer.Reset();

        var watch = Stopwatch.StartNew();
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Record.Exception(() => codec.Decompress(input, buffer, Limit, 0));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        watch.Stop();

        var typed = Assert.IsType<KafkaProtocolException>(e, exactMatch: true);
        Assert.Contains("limit", typed.Message, StringComparison.Ordinal);
        Assert.True(buffer.WrittenCount <= Limit, "wrote " + buffer.WrittenCount + " bytes past the limit");
        Assert.True(allocated < 512 * 1024, bomb + " allocated " + allocated + " bytes");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), bomb + " took " + watch.Elapsed);
    }

    [Fact]
    public void A_small_snappy_block_claiming_a_huge_length_does_not_grow_the_destination()
    {
        // Varint 0x7FFFFFF0 followed by a few literal bytes.
        byte[] input = [0xF0, 0xFF, 0xFF, 0xFF, 0x07, 0x08, 1, 2, 3];
        using var buffer = new DecompressionBuffer(256);
        Assert.Throws<KafkaProtocolException>(() => CompressionCodecs.Get(CompressionType.Snappy).Decompress(input, buffer, int.MaxValue, 0));
        Assert.True(buffer.Capacity < 1 << 20);
    }

    [Fact]
    public void A_small_zstd_frame_claiming_a_huge_content_size_does_not_grow_the_destination()
    {
        byte[] frame = CodecTestData.Compress(CompressionType.Zstd, CodecTestData.Compressible(1000));
        // Keep the blocks, replace the frame header with a single-segment one stating an 8-byte content size of 1 GiB.
        int descriptor = frame[4];
        int fcsLength = (descriptor >> 6) switch { 0 => (descriptor & 0x20) != 0 ? 1 : 0, 1 => 2, 2 => 4, _ => 8 };
        int headerLength = 5 + ((descriptor & 0x20) != 0 ? 0 : 1) + (descriptor & 3) switch { 0 => 0, 1 => 1, 2 => 2, _ => 4 } + fcsLength;
        byte[] forged = [0x28, 0xB5, 0x2F, 0xFD, (byte)(0xE0 | (descriptor & 0x04)), 0, 0, 0, 0x40, 0, 0, 0, 0, .. frame.AsSpan(headerLength)];
        using var buffer = new DecompressionBuffer(256);
        Assert.Throws<KafkaProtocolException>(() => CompressionCodecs.Get(CompressionType.Zstd).Decompress(forged, buffer, int.MaxValue, 0));
        Assert.True(buffer.Capacity < 1 << 20, "capacity " + buffer.Capacity);
    }

    /// <summary>Snappier creates a small decompressor/compressor object per block (about 50-80 bytes); lz4 and zstd allocate nothing.</summary>
    private static long AllowedPerCall(CompressionType type) => type == CompressionType.Snappy ? 128 : 0;

    [Theory]
    [InlineData(CompressionType.Lz4)]
    [InlineData(CompressionType.Zstd)]
    [InlineData(CompressionType.Snappy)]
    public void Decompressing_into_a_reused_buffer_allocates_nothing_after_the_first_call(CompressionType type)
    {
        byte[] compressed = CodecTestData.Compress(type, CodecTestData.Compressible(256 * 1024));
        ICompressionCodec codec = CompressionCodecs.Get(type);
        using var buffer = new DecompressionBuffer(1 << 20);

        // A consumer-sized limit: with room for a whole declared block (4 MiB here) the main path runs. Within a block
        // of the limit, lz4 decodes through a scratch block from the shared ArrayPool, which the GC may trim under load.
        const int ConsumerLimit = 64 << 20;
        for (int i = 0; i < 3; i++)
        {
            buffer.Reset();
            codec.Decompress(compressed, buffer, ConsumerLimit, 0);
        }

        long steady = Allocations.SteadyState(() =>
        {
            buffer.Reset();
            codec.Decompress(compressed, buffer, ConsumerLimit, 0);
        }, 20);

        Assert.InRange(steady, 0, 20 * AllowedPerCall(type));
    }

    [Theory]
    [InlineData(CompressionType.Lz4)]
    [InlineData(CompressionType.Zstd)]
    [InlineData(CompressionType.Snappy)]
    public void Compressing_into_a_reused_buffer_allocates_nothing_after_the_first_call(CompressionType type)
    {
        byte[] data = CodecTestData.Compressible(256 * 1024);
        ICompressionCodec codec = CompressionCodecs.Get(type);
        var buffer = new ArrayBufferWriter<byte>(1 << 20);
        for (int i = 0; i < 3; i++)
        {
            buffer.ResetWrittenCount();
            codec.Compress(data, buffer, codec.DefaultLevel);
        }

        long steady = Allocations.SteadyState(() =>
        {
            buffer.ResetWrittenCount();
            codec.Compress(data, buffer, codec.DefaultLevel);
        }, 20);

        Assert.InRange(steady, 0, 20 * AllowedPerCall(type));
    }

}
