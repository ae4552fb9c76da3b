using System.Buffers;
using System.Buffers.Binary;
using K4os.Compression.LZ4;
using K4os.Hash.xxHash;

namespace Messaging.Compression;

/// <summary>
/// LZ4 in the LZ4 frame format (magic 0x184D2204), written by hand on top of the <see cref="LZ4Codec"/> block codec so
/// that blocks are decoded straight into the destination span with no stream objects and no allocation.
/// </summary>
/// <remarks>
/// <para>Writing follows Kafka's <c>KafkaLZ4BlockOutputStream</c>: FLG = version 01 + independent blocks (0x60), BD =
/// 64 KiB maximum block size (0x40), the header checksum, blocks of at most 64 KiB (stored uncompressed, with the high
/// bit of the size set, when compression does not shrink them), the zero end mark, and no block or content checksums.
/// Levels follow Kafka's <c>compression.lz4.level</c> (1-17): 1-2 use the fast compressor, 3-12 the HC levels of the
/// same number, 13-17 the maximum HC level. The default is 1, the fast compressor, as librdkafka and the Java client
/// before 3.8 use; LZ4 HC costs roughly ten times the CPU for a few percent of size.</para>
/// <para>Reading follows Kafka's <c>KafkaLZ4BlockInputStream</c>: version 01 only; any block size code 4-7; optional
/// content size (checked against the limit up front and against the output at the end); optional block checksums
/// (verified); optional content checksum (skipped, as Kafka does); no dictionary ID. Blocks are decoded independently,
/// as Kafka does (every Kafka producer writes independent blocks). The header checksum is verified except for legacy
/// magic-0 messages: Kafka before 0.10 computed it over the magic number as well (KAFKA-3160), so for those it is
/// ignored, again as Kafka does. Concatenated frames are decoded one after another.</para>
/// </remarks>
internal sealed class Lz4Codec : ICompressionCodec
{
    private const string Name = "Lz4Frame";
    private const uint Magic = 0x184D2204;
    private const int FrameHeaderSize = 7;
    private const int EndMarkSize = 4;
    private const byte FlgVersionMask = 0xC0;
    private const byte FlgVersion1 = 0x40;
    private const byte FlgBlockIndependent = 0x20;
    private const byte FlgBlockChecksum = 0x10;
    private const byte FlgContentSize = 0x08;
    private const byte FlgContentChecksum = 0x04;
    private const byte FlgReserved = 0x02;
    private const byte FlgDictId = 0x01;
    private const uint UncompressedBit = 0x80000000u;

    /// <summary>The block size written (the frame's maximum block size, 64 KiB, as Kafka's and librdkafka's writers use).</summary>
    internal const int BlockSize = 64 * 1024;

    /// <summary>The singleton.</summary>
    public static readonly Lz4Codec Instance = new();

    /// <summary>The most bytes LZ4 turns one block into.</summary>
    private static readonly int MaxCompressedBlock = LZ4Codec.MaximumOutputSize(BlockSize);

    /// <summary>The room one written block needs at most: the size prefix and the compressed (or raw) bytes.</summary>
    internal static readonly int MaxBlockRoom = 4 + MaxCompressedBlock;

    private Lz4Codec()
    {
    }

    /// <inheritdoc/>
    public CompressionType Type => CompressionType.Lz4;

    /// <inheritdoc/>
    public int MinLevel => 1;

    /// <inheritdoc/>
    public int MaxLevel => 17;

    /// <inheritdoc/>
    public int DefaultLevel => 1;

    /// <inheritdoc/>
    /// <remarks>A frame of several blocks is compressed on several threads (<see cref="Lz4ParallelBlocks"/>); the bytes
    /// are the same as on one.</remarks>
    public int Compress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination, int level) =>
        Compress(source, destination, level, Lz4ParallelBlocks.PartsFor((source.Length + BlockSize - 1) / BlockSize));

    /// <summary>Compresses with the blocks cut into <paramref name="parts"/> runs compressed in parallel (1: on this thread only).</summary>
    /// <param name="source">The uncompressed bytes.</param>
    /// <param name="destination">Where the frame is appended.</param>
    /// <param name="level">The compression level (clamped as <see cref="ToLz4Level"/> maps it).</param>
    /// <param name="parts">1 for serial, otherwise the part count for <see cref="Lz4ParallelBlocks"/>.</param>
    /// <returns>The number of bytes appended.</returns>
    internal unsafe int Compress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination, int level, int parts)
    {
        LZ4Level lz4Level = ToLz4Level(level);
        int total;
        if (parts > 1)
        {
            Span<byte> span = destination.GetSpan(FrameHeaderSize + Lz4ParallelBlocks.RoomFor(source.Length, parts) + EndMarkSize);
            WriteFrameHeader(span);
            fixed (byte* input = source)
            fixed (byte* output = span)
            {
                total = FrameHeaderSize + Lz4ParallelBlocks.Run(input, source.Length, output + FrameHeaderSize, parts, lz4Level);
            }

            BinaryPrimitives.WriteUInt32LittleEndian(span.Slice(total), 0);
            destination.Advance(total + EndMarkSize);
            return total + EndMarkSize;
        }

        // One block at a time, asking the writer for one block's room each (a large frame needs no large span).
        WriteFrameHeader(destination.GetSpan(FrameHeaderSize));
        destination.Advance(FrameHeaderSize);
        total = FrameHeaderSize;
        while (!source.IsEmpty)
        {
            ReadOnlySpan<byte> block = source.Slice(0, Math.Min(BlockSize, source.Length));
            int n = WriteBlock(block, destination.GetSpan(MaxBlockRoom), lz4Level);
            destination.Advance(n);
            total += n;
            source = source.Slice(block.Length);
        }

        BinaryPrimitives.WriteUInt32LittleEndian(destination.GetSpan(EndMarkSize), 0);
        destination.Advance(EndMarkSize);
        return total + EndMarkSize;
    }

    /// <summary>Writes one block: its size prefix, then the compressed bytes, or the raw bytes (high size bit set) when
    /// compression does not shrink them, as Kafka's writer does.</summary>
    /// <param name="block">At most <see cref="BlockSize"/> bytes.</param>
    /// <param name="span">At least <see cref="MaxBlockRoom"/> bytes.</param>
    /// <param name="level">The LZ4 level.</param>
    /// <returns>The bytes written.</returns>
    internal static int WriteBlock(ReadOnlySpan<byte> block, Span<byte> span, LZ4Level level)
    {
        int n = LZ4Codec.Encode(block, span.Slice(4, MaxCompressedBlock), level);
        if (n <= 0 || n >= block.Length)
        {
            block.CopyTo(span.Slice(4));
            BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)block.Length | UncompressedBit);
            return 4 + block.Length;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)n);
        return 4 + n;
    }

    /// <inheritdoc/>
    public int Decompress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination, int maxDecompressedBytes, int sourceOffset) =>
        Decompress(source, destination, maxDecompressedBytes, sourceOffset, ignoreHeaderChecksum: false);

    /// <summary>Decompresses, optionally ignoring the frame header checksum (legacy magic-0 messages).</summary>
    /// <param name="source">One or more LZ4 frames.</param>
    /// <param name="destination">Where the decompressed bytes are appended.</param>
    /// <param name="maxDecompressedBytes">The most bytes that may be appended.</param>
    /// <param name="sourceOffset">Where <paramref name="source"/> starts within the buffer being decoded.</param>
    /// <param name="ignoreHeaderChecksum">True for magic-0 messages, whose header checksum Kafka computed wrongly.</param>
    /// <returns>The number of bytes appended.</returns>
    public static int Decompress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination, int maxDecompressedBytes, int sourceOffset, bool ignoreHeaderChecksum)
    {
        int position = 0;
        int total = 0;
        do
        {
            total += DecompressFrame(source, ref position, destination, maxDecompressedBytes - total, sourceOffset, ignoreHeaderChecksum);
        }
        while (position < source.Length);

        return total;
    }

    private static int DecompressFrame(ReadOnlySpan<byte> source, ref int position, IBufferWriter<byte> destination, int limit, int sourceOffset, bool ignoreHeaderChecksum)
    {
        int start = position;
        if (source.Length - position < 7)
        {
            CodecErrors.ThrowTruncated(Name, "Header", sourceOffset + position);
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(source.Slice(position)) != Magic)
        {
            CodecErrors.ThrowCorrupt(Name, "Magic", sourceOffset + position, "not an LZ4 frame (magic 0x184D2204 expected)");
        }

        int descriptorStart = position + 4;
        byte flg = source[descriptorStart];
        byte bd = source[descriptorStart + 1];
        if ((flg & FlgVersionMask) != FlgVersion1)
        {
            CodecErrors.ThrowCorrupt(Name, "FLG", sourceOffset + descriptorStart, "unsupported frame version");
        }

        if ((flg & (FlgReserved | FlgDictId)) != 0)
        {
            CodecErrors.ThrowCorrupt(Name, "FLG", sourceOffset + descriptorStart, "reserved bit or dictionary ID set (unsupported)");
        }

        int sizeCode = (bd >> 4) & 0x7;
        if ((bd & 0x8F) != 0 || sizeCode < 4)
        {
            CodecErrors.ThrowCorrupt(Name, "BD", sourceOffset + descriptorStart + 1, "invalid block descriptor");
        }

        int maxBlockSize = 1 << (8 + (2 * sizeCode)); // 4: 64 KiB, 5: 256 KiB, 6: 1 MiB, 7: 4 MiB
        int descriptorLength = 2;
        long contentSize = -1;
        if ((flg & FlgContentSize) != 0)
        {
            if (source.Length - descriptorStart < 2 + 8 + 1)
            {
                CodecErrors.ThrowTruncated(Name, "ContentSize", sourceOffset + descriptorStart + 2);
            }

            ulong declared = BinaryPrimitives.ReadUInt64LittleEndian(source.Slice(descriptorStart + 2));
            if (declared > (ulong)limit)
            {
                CodecErrors.ThrowLimitExceeded(Name, sourceOffset + descriptorStart + 2, declared > long.MaxValue ? long.MaxValue : (long)declared, limit);
            }

            contentSize = (long)declared;
            descriptorLength += 8;
        }

        byte hc = source[descriptorStart + descriptorLength];
        if (!ignoreHeaderChecksum && hc != HeaderChecksum(source.Slice(descriptorStart, descriptorLength)))
        {
            CodecErrors.ThrowCorrupt(Name, "HeaderChecksum", sourceOffset + descriptorStart + descriptorLength, "frame descriptor checksum mismatch");
        }

        position = descriptorStart + descriptorLength + 1;
        bool blockChecksum = (flg & FlgBlockChecksum) != 0;
        int total = 0;
        while (true)
        {
            if (source.Length - position < 4)
            {
                CodecErrors.ThrowTruncated(Name, "BlockSize", sourceOffset + position);
            }

            uint raw = BinaryPrimitives.ReadUInt32LittleEndian(source.Slice(position));
            int blockStart = position;
            position += 4;
            if (raw == 0)
            {
                break; // end mark
            }

            bool uncompressed = (raw & UncompressedBit) != 0;
            int size = (int)(raw & ~UncompressedBit);
            if (size > maxBlockSize)
            {
                CodecErrors.ThrowCorrupt(Name, "BlockSize", sourceOffset + blockStart, "block size exceeds the frame's maximum block size");
            }

            if (size > source.Length - position - (blockChecksum ? 4 : 0))
            {
                CodecErrors.ThrowTruncated(Name, "Block", sourceOffset + blockStart);
            }

            ReadOnlySpan<byte> block = source.Slice(position, size);
            if (blockChecksum && XXH32.DigestOf(block) != BinaryPrimitives.ReadUInt32LittleEndian(source.Slice(position + size)))
            {
                CodecErrors.ThrowCorrupt(Name, "BlockChecksum", sourceOffset + position + size, "block checksum mismatch");
            }

            int room = limit - total;
            // An LZ4 sequence expands at most about 255:1, so a block never needs more room than this; the bound keeps a
            // tiny block in a frame declaring 4 MiB blocks from asking the destination for 4 MiB.
            int blockCap = (int)Math.Min(maxBlockSize, ((long)size * 255) + 64);
            int written;
            if (uncompressed)
            {
                if (size > room)
                {
                    CodecErrors.ThrowLimitExceeded(Name, sourceOffset + blockStart, (long)total + size, limit);
                }

                block.CopyTo(destination.GetSpan(size));
                written = size;
            }
            else if (room >= blockCap)
            {
                written = LZ4Codec.Decode(block, destination.GetSpan(blockCap).Slice(0, blockCap));
                if (written < 0)
                {
                    CodecErrors.ThrowCorrupt(Name, "Block", sourceOffset + blockStart, "malformed LZ4 block");
                }
            }
            else
            {
                written = DecodeNearLimit(block, destination, blockCap, room, sourceOffset + blockStart, total, limit);
            }

            destination.Advance(written);
            total += written;
            position += size + (blockChecksum ? 4 : 0);
        }

        if ((flg & FlgContentChecksum) != 0)
        {
            // Kafka does not verify the content checksum either; it only has to be present.
            if (source.Length - position < 4)
            {
                CodecErrors.ThrowTruncated(Name, "ContentChecksum", sourceOffset + position);
            }

            position += 4;
        }

        if (contentSize >= 0 && contentSize != total)
        {
            CodecErrors.ThrowCorrupt(Name, "ContentSize", sourceOffset + start, "the frame decoded to a different size than its header states");
        }

        return total;
    }

    /// <summary>Decodes a block when less than a whole block of room remains under the limit: decode into a scratch
    /// block first so that "too much output" and "corrupt block" can be told apart. Rare (only the last block before the
    /// limit), and the scratch comes from the shared array pool.</summary>
    private static int DecodeNearLimit(ReadOnlySpan<byte> block, IBufferWriter<byte> destination, int maxBlockSize, int room, int errorOffset, int total, int limit)
    {
        byte[] scratch = ArrayPool<byte>.Shared.Rent(maxBlockSize);
        try
        {
            int written = LZ4Codec.Decode(block, scratch.AsSpan(0, maxBlockSize));
            if (written < 0)
            {
                CodecErrors.ThrowCorrupt(Name, "Block", errorOffset, "malformed LZ4 block");
            }

            if (written > room)
            {
                CodecErrors.ThrowLimitExceeded(Name, errorOffset, (long)total + written, limit);
            }

            scratch.AsSpan(0, written).CopyTo(destination.GetSpan(written));
            return written;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    private static void WriteFrameHeader(Span<byte> span)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(span, Magic);
        span[4] = FlgVersion1 | FlgBlockIndependent;
        span[5] = 0x40; // block maximum size code 4: 64 KiB
        span[6] = HeaderChecksum(span.Slice(4, 2));
    }

    private static byte HeaderChecksum(ReadOnlySpan<byte> descriptor) => (byte)((XXH32.DigestOf(descriptor) >> 8) & 0xFF);

    private static LZ4Level ToLz4Level(int level) => level switch
    {
        <= 2 => LZ4Level.L00_FAST,
        >= 12 => LZ4Level.L12_MAX,
        _ => (LZ4Level)level,
    };
}
