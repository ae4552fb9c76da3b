using System.Buffers;
using System.IO.Compression;
using FsCheck.Xunit;
using K4os.Compression.LZ4.Streams;
using Messaging.Compression;
using Xunit;

namespace Messaging.Core.Tests.Compression;

public sealed class CodecRoundTripTests
{
    public static TheoryData<CompressionType> AllCodecs => new(CodecTestData.Codecs);

    [Property(MaxTest = 100)]
    public void Every_codec_round_trips_arbitrary_bytes(byte[] data)
    {
        foreach (CompressionType type in CodecTestData.Codecs)
        {
            byte[] compressed = CodecTestData.Compress(type, data);
            Assert.Equal(data, CodecTestData.Decompress(type, compressed));
        }
    }

    [Theory]
    [MemberData(nameof(AllCodecs))]
    public void Round_trips_empty_small_and_multi_block_inputs(CompressionType type)
    {
        foreach (int length in new[] { 0, 1, 100, 65_535, 65_536, 65_537, 300_000 })
        {
            foreach (byte[] data in new[] { CodecTestData.Compressible(length), CodecTestData.RandomBytes(length) })
            {
                byte[] compressed = CodecTestData.Compress(type, data);
                Assert.Equal(data, CodecTestData.Decompress(type, compressed));
            }
        }
    }

    [Theory]
    [InlineData(CompressionType.Gzip, new[] { -1, 0, 1, 6, 9 })]
    [InlineData(CompressionType.Lz4, new[] { 1, 2, 3, 9, 12, 17 })]
    [InlineData(CompressionType.Zstd, new[] { -5, 1, 3, 9, 19 })]
    public void Every_level_round_trips(CompressionType type, int[] levels)
    {
        byte[] data = CodecTestData.Compressible(200_000);
        foreach (int level in levels)
        {
            byte[] compressed = CodecTestData.Compress(type, data, level);
            Assert.True(level == 0 || compressed.Length < data.Length, "level " + level + " did not compress");
            Assert.Equal(data, CodecTestData.Decompress(type, compressed));
        }
    }

    [Fact]
    public void Higher_levels_compress_better()
    {
        byte[] data = CodecTestData.Compressible(500_000);
        Assert.True(CodecTestData.Compress(CompressionType.Zstd, data, 19).Length < CodecTestData.Compress(CompressionType.Zstd, data, 1).Length);
        Assert.True(CodecTestData.Compress(CompressionType.Lz4, data, 12).Length < CodecTestData.Compress(CompressionType.Lz4, data, 1).Length);
        Assert.True(CodecTestData.Compress(CompressionType.Gzip, data, 9).Length < CodecTestData.Compress(CompressionType.Gzip, data, 1).Length);
    }

    [Fact]
    public void Decompression_appends_after_existing_bytes()
    {
        byte[] data = CodecTestData.Compressible(10_000);
        foreach (CompressionType type in CodecTestData.Codecs)
        {
            using var buffer = new DecompressionBuffer(16);
            buffer.GetSpan(3)[..3].Fill(0xAB);
            buffer.Advance(3);
            int n = CompressionCodecs.Get(type).Decompress(CodecTestData.Compress(type, data), buffer, int.MaxValue, 0);
            Assert.Equal(data.Length, n);
            Assert.Equal([0xAB, 0xAB, 0xAB, .. data], buffer.WrittenMemory.ToArray());
        }
    }

    [Fact]
    public void Gzip_output_is_standard_gzip_and_standard_gzip_is_read()
    {
        byte[] data = CodecTestData.Compressible(100_000);
        using (var gz = new GZipStream(new MemoryStream(CodecTestData.Compress(CompressionType.Gzip, data)), CompressionMode.Decompress))
        {
            var output = new MemoryStream();
            gz.CopyTo(output);
            Assert.Equal(data, output.ToArray());
        }

        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true))
        {
            gz.Write(data);
        }

        Assert.Equal(data, CodecTestData.Decompress(CompressionType.Gzip, ms.ToArray()));
    }

    [Fact]
    public void Gzip_reads_concatenated_members()
    {
        byte[] a = CodecTestData.Compressible(5000, 1);
        byte[] b = CodecTestData.Compressible(7000, 2);
        byte[] both = [.. CodecTestData.Compress(CompressionType.Gzip, a), .. CodecTestData.Compress(CompressionType.Gzip, b)];
        Assert.Equal([.. a, .. b], CodecTestData.Decompress(CompressionType.Gzip, both));
    }

    [Fact]
    public void Snappy_writes_a_raw_block_and_reads_raw_blocks()
    {
        byte[] data = CodecTestData.Compressible(50_000);
        byte[] compressed = CodecTestData.Compress(CompressionType.Snappy, data);
        Assert.Equal(data, Snappier.Snappy.DecompressToArray(compressed));
        Assert.Equal(data, CodecTestData.Decompress(CompressionType.Snappy, Snappier.Snappy.CompressToArray(data)));
    }

    [Fact]
    public void Snappy_reads_the_xerial_framing_of_the_java_client()
    {
        byte[] data = CodecTestData.Compressible(200_000);
        var writer = new ArrayBufferWriter<byte>();
        SnappyCodec.CompressXerial(data, writer);
        byte[] framed = writer.WrittenSpan.ToArray();
        Assert.Equal(new byte[] { 0x82, (byte)'S', (byte)'N', (byte)'A', (byte)'P', (byte)'P', (byte)'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1 }, framed.AsSpan(0, 16).ToArray());
        Assert.Equal(data, CodecTestData.Decompress(CompressionType.Snappy, framed));

        // Header only (an empty xerial stream) decodes to nothing.
        Assert.Empty(CodecTestData.Decompress(CompressionType.Snappy, framed.AsSpan(0, 16)));
    }

    [Fact]
    public void Lz4_writes_the_frame_kafka_writes()
    {
        byte[] data = CodecTestData.Compressible(150_000);
        byte[] frame = CodecTestData.Compress(CompressionType.Lz4, data);
        Assert.Equal(new byte[] { 0x04, 0x22, 0x4D, 0x18, 0x60, 0x40 }, frame[..6]);
        Assert.Equal(0x82, frame[6]); // (xxh32(60 40) >> 8) & 0xFF, the checksum Kafka and lz4 compute
        Assert.Equal(new byte[4], frame[^4..]); // end mark, no content checksum

        // A standard LZ4 frame decoder reads it.
        using var decoder = LZ4Stream.Decode(new MemoryStream(frame));
        var output = new MemoryStream();
        decoder.CopyTo(output);
        Assert.Equal(data, output.ToArray());
    }

    [Theory]
    [InlineData(false, false, false, K4os.Compression.LZ4.LZ4Level.L00_FAST)]
    [InlineData(true, false, false, K4os.Compression.LZ4.LZ4Level.L00_FAST)]
    [InlineData(false, true, false, K4os.Compression.LZ4.LZ4Level.L09_HC)]
    [InlineData(false, false, true, K4os.Compression.LZ4.LZ4Level.L00_FAST)]
    [InlineData(true, true, true, K4os.Compression.LZ4.LZ4Level.L12_MAX)]
    public void Lz4_reads_frames_with_optional_fields(bool contentChecksum, bool blockChecksum, bool contentLength, K4os.Compression.LZ4.LZ4Level level)
    {
        byte[] data = CodecTestData.Compressible(300_000);
        var settings = new LZ4EncoderSettings
        {
            ContentChecksum = contentChecksum,
            BlockChecksum = blockChecksum,
            ChainBlocks = false,
            BlockSize = 256 * 1024,
            CompressionLevel = level,
        };
        var ms = new MemoryStream();
        using (var encoder = LZ4Stream.Encode(ms, settings, leaveOpen: true))
        {
            encoder.Write(data);
        }

        byte[] frame = ms.ToArray();
        if (contentLength)
        {
            // K4os does not write the content size; insert it and recompute the header checksum.
            Assert.Equal(0, frame[4] & 0x08);
            byte[] descriptor = [(byte)(frame[4] | 0x08), frame[5], .. BitConverter.GetBytes((long)data.Length)];
            byte checksum = (byte)((K4os.Hash.xxHash.XXH32.DigestOf(descriptor) >> 8) & 0xFF);
            frame = [.. frame.AsSpan(0, 4), .. descriptor, checksum, .. frame.AsSpan(7)];
            Assert.Throws<Messaging.KafkaProtocolException>(() => CodecTestData.Decompress(CompressionType.Lz4, frame, data.Length - 1));
        }

        Assert.Equal(data, CodecTestData.Decompress(CompressionType.Lz4, frame));
    }

    [Fact]
    public void Lz4_reads_concatenated_frames()
    {
        byte[] a = CodecTestData.Compressible(70_000, 1);
        byte[] b = CodecTestData.Compressible(10, 2);
        byte[] both = [.. CodecTestData.Compress(CompressionType.Lz4, a), .. CodecTestData.Compress(CompressionType.Lz4, b)];
        Assert.Equal([.. a, .. b], CodecTestData.Decompress(CompressionType.Lz4, both));
    }

    [Fact]
    public void Lz4_legacy_magic_0_frames_with_the_broken_header_checksum_are_read_only_when_asked()
    {
        byte[] data = CodecTestData.Compressible(1000);
        byte[] frame = CodecTestData.Compress(CompressionType.Lz4, data);
        // Kafka before 0.10 hashed the magic number too: recompute the checksum that way.
        frame[6] = (byte)((K4os.Hash.xxHash.XXH32.DigestOf(frame.AsSpan(0, 6)) >> 8) & 0xFF);
        Assert.Throws<Messaging.KafkaProtocolException>(() => CodecTestData.Decompress(CompressionType.Lz4, frame));
        var writer = new ArrayBufferWriter<byte>();
        Lz4Codec.Decompress(frame, writer, int.MaxValue, 0, ignoreHeaderChecksum: true);
        Assert.Equal(data, writer.WrittenSpan.ToArray());
    }

    [Fact]
    public void Zstd_reads_streamed_frames_without_a_content_size_and_concatenated_frames()
    {
        byte[] data = CodecTestData.Compressible(400_000);
        var ms = new MemoryStream();
        using (var z = new ZstdSharp.CompressionStream(ms, 5, leaveOpen: true))
        {
            z.Write(data);
        }

        byte[] streamed = ms.ToArray();
        Assert.Equal(data, CodecTestData.Decompress(CompressionType.Zstd, streamed));
        byte[] one = CodecTestData.Compress(CompressionType.Zstd, data);
        Assert.Equal([.. data, .. data], CodecTestData.Decompress(CompressionType.Zstd, [.. one, .. streamed]));
    }

    [Fact]
    public void Output_exactly_at_the_limit_is_accepted()
    {
        byte[] data = CodecTestData.Compressible(100_000);
        foreach (CompressionType type in CodecTestData.Codecs)
        {
            Assert.Equal(data, CodecTestData.Decompress(type, CodecTestData.Compress(type, data), data.Length));
            Assert.Throws<Messaging.KafkaProtocolException>(() => CodecTestData.Decompress(type, CodecTestData.Compress(type, data), data.Length - 1));
        }
    }
}
