using System.Buffers;
using K4os.Compression.LZ4.Streams;
using Messaging.Compression;
using Xunit;

namespace Messaging.Core.Tests.Compression;

/// <summary>LZ4 frames whose blocks are compressed on several threads: the same bytes as on one thread, under any race.</summary>
public sealed class Lz4ParallelCompressionTests
{
    private const int Block = 64 * 1024;

    public static TheoryData<int, int> SizesAndParts => new()
    {
        { (2 * Block) + 1, 2 },      // the last part is one byte
        { 4 * Block, 2 },            // whole blocks
        { (4 * Block) + 777, 3 },    // uneven parts
        { 3 * Block, 8 },            // more parts than blocks: some parts are empty
        { (1 << 20) + 17, 2 },       // a full batch
        { (1 << 20) + 17, 8 },
    };

    [Theory]
    [MemberData(nameof(SizesAndParts))]
    public void Parallel_frames_are_byte_for_byte_the_serial_frames_and_round_trip(int size, int parts)
    {
        // Compressible blocks and one incompressible stretch, so both compressed and stored blocks are moved together.
        byte[] data = CodecTestData.Compressible(size);
        CodecTestData.RandomBytes(Block + 100).AsSpan(0, Math.Min(Block + 100, size / 2)).CopyTo(data.AsSpan(size / 4));

        byte[] serial = Compress(data, parts: 1, level: 1);
        byte[] parallel = Compress(data, parts, level: 1);

        Assert.Equal(serial, parallel);
        Assert.Equal(data, CodecTestData.Decompress(CompressionType.Lz4, parallel));
        using var decoder = LZ4Stream.Decode(new MemoryStream(parallel));
        var output = new MemoryStream();
        decoder.CopyTo(output);
        Assert.Equal(data, output.ToArray());
    }

    [Fact]
    public void High_compression_levels_split_the_same_way()
    {
        byte[] data = CodecTestData.Compressible(5 * Block);
        Assert.Equal(Compress(data, parts: 1, level: 9), Compress(data, parts: 3, level: 9));
    }

    [Fact]
    public void The_public_entry_splits_large_frames_and_appends_after_existing_bytes()
    {
        byte[] data = CodecTestData.Compressible(1 << 20);
        var writer = new ArrayBufferWriter<byte>();
        writer.Write(new byte[] { 1, 2, 3 });
        int written = Lz4Codec.Instance.Compress(data, writer, 1);

        Assert.Equal(3 + written, writer.WrittenCount);
        Assert.Equal(new byte[] { 1, 2, 3 }, writer.WrittenSpan[..3].ToArray());
        Assert.Equal(Compress(data, parts: 1, level: 1), writer.WrittenSpan[3..].ToArray());
    }

    [Fact]
    public async Task Concurrent_callers_each_get_their_own_frame()
    {
        // Many callers at once share the pooled jobs and the thread pool: no caller may see another's blocks, and a job
        // reused while a late work item still holds it would show up here as a wrong frame.
        byte[][] inputs = new byte[4][];
        byte[][] expected = new byte[inputs.Length][];
        for (int i = 0; i < inputs.Length; i++)
        {
            inputs[i] = CodecTestData.Compressible((5 * Block) + (i * 1000), seed: 10 + i);
            expected[i] = Compress(inputs[i], parts: 1, level: 1);
        }

        var callers = new Task[8];
        for (int c = 0; c < callers.Length; c++)
        {
            int caller = c;
            callers[c] = Task.Run(() =>
            {
                var writer = new ArrayBufferWriter<byte>();
                for (int round = 0; round < 50; round++)
                {
                    int i = (caller + round) % inputs.Length;
                    writer.ResetWrittenCount();
                    Lz4Codec.Instance.Compress(inputs[i], writer, 1, parts: 2 + (round % 3));
                    Assert.Equal(expected[i], writer.WrittenSpan.ToArray());
                }
            }, TestContext.Current.CancellationToken);
        }

        await Task.WhenAll(callers);
    }

    private static byte[] Compress(byte[] data, int parts, int level)
    {
        var writer = new ArrayBufferWriter<byte>();
        int written = Lz4Codec.Instance.Compress(data, writer, level, parts);
        Assert.Equal(writer.WrittenCount, written);
        return writer.WrittenSpan.ToArray();
    }
}
