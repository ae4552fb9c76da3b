using System.Buffers;
using System.Buffers.Binary;
using Snappier;

namespace Messaging.Compression;

/// <summary>Snappy through Snappier. Writes one raw Snappy block; reads raw blocks and the xerial framing.</summary>
/// <remarks>
/// <para>What producers write: librdkafka (and franz-go, Sarama) write one raw Snappy block; the Java client writes the
/// xerial <c>SnappyOutputStream</c> framing: the 8-byte magic <c>82 'S' 'N' 'A' 'P' 'P' 'Y' 00</c>, a big-endian int32
/// version and a big-endian int32 compatible version (both 1), then chunks of [big-endian int32 length][raw Snappy block].
/// The Java consumer (xerial's <c>SnappyInputStream</c>) falls back to raw Snappy when the magic is absent, so every
/// consumer reads raw blocks. This codec therefore writes the raw form, which has no framing overhead and is a single
/// pass, and reads both.</para>
/// <para>Every raw block states its uncompressed length up front, so the limit is checked before any output is written,
/// and the block is decoded straight into the destination span: no allocation.</para>
/// </remarks>
internal sealed class SnappyCodec : ICompressionCodec
{
    private const string Name = "Snappy";
    private const string XerialName = "XerialSnappy";
    private const int XerialHeaderLength = 16;
    private const int MaxRatio = 22;

    /// <summary>The singleton.</summary>
    public static readonly SnappyCodec Instance = new();

    private static ReadOnlySpan<byte> XerialMagic => [0x82, (byte)'S', (byte)'N', (byte)'A', (byte)'P', (byte)'P', (byte)'Y', 0x00];

    private SnappyCodec()
    {
    }

    /// <inheritdoc/>
    public CompressionType Type => CompressionType.Snappy;

    /// <inheritdoc/>
    public int MinLevel => 0;

    /// <inheritdoc/>
    public int MaxLevel => 0;

    /// <inheritdoc/>
    public int DefaultLevel => 0;

    /// <inheritdoc/>
    public int Compress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination, int level)
    {
        Span<byte> span = destination.GetSpan(Snappy.GetMaxCompressedLength(source.Length));
        int written = Snappy.Compress(source, span);
        destination.Advance(written);
        return written;
    }

    /// <summary>Writes the xerial framing the Java client writes (for interoperability tests).</summary>
    /// <param name="source">The uncompressed bytes.</param>
    /// <param name="destination">Where the framed bytes are appended.</param>
    /// <param name="chunkSize">Uncompressed bytes per chunk (xerial's default is 32 KiB).</param>
    /// <returns>The number of bytes appended.</returns>
    internal static int CompressXerial(ReadOnlySpan<byte> source, IBufferWriter<byte> destination, int chunkSize = 32 * 1024)
    {
        Span<byte> header = destination.GetSpan(XerialHeaderLength);
        XerialMagic.CopyTo(header);
        BinaryPrimitives.WriteInt32BigEndian(header.Slice(8), 1);
        BinaryPrimitives.WriteInt32BigEndian(header.Slice(12), 1);
        destination.Advance(XerialHeaderLength);
        int total = XerialHeaderLength;
        while (!source.IsEmpty)
        {
            ReadOnlySpan<byte> chunk = source.Slice(0, Math.Min(chunkSize, source.Length));
            Span<byte> span = destination.GetSpan(4 + Snappy.GetMaxCompressedLength(chunk.Length));
            int n = Snappy.Compress(chunk, span.Slice(4));
            BinaryPrimitives.WriteInt32BigEndian(span, n);
            destination.Advance(4 + n);
            total += 4 + n;
            source = source.Slice(chunk.Length);
        }

        return total;
    }

    /// <inheritdoc/>
    public int Decompress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination, int maxDecompressedBytes, int sourceOffset)
    {
        if (source.Length >= XerialHeaderLength && source.StartsWith(XerialMagic))
        {
            return DecompressXerial(source, destination, maxDecompressedBytes, sourceOffset);
        }

        return DecompressBlock(Name, source, destination, maxDecompressedBytes, sourceOffset);
    }

    private static int DecompressXerial(ReadOnlySpan<byte> source, IBufferWriter<byte> destination, int maxDecompressedBytes, int sourceOffset)
    {
        // The version fields are informational; xerial itself only rejects compatible versions below 1.
        int position = XerialHeaderLength;
        int total = 0;
        while (position < source.Length)
        {
            if (source.Length - position < 4)
            {
                CodecErrors.ThrowTruncated(XerialName, "ChunkLength", sourceOffset + position);
            }

            int length = BinaryPrimitives.ReadInt32BigEndian(source.Slice(position));
            if (length < 0 || length > source.Length - position - 4)
            {
                CodecErrors.ThrowCorrupt(XerialName, "ChunkLength", sourceOffset + position,
                    "chunk length " + length.ToString(System.Globalization.CultureInfo.InvariantCulture) + " is negative or exceeds the remaining input");
            }

            position += 4;
            if (length > 0)
            {
                total += DecompressBlock(XerialName, source.Slice(position, length), destination, maxDecompressedBytes - total, sourceOffset + position);
            }

            position += length;
        }

        return total;
    }

    private static int DecompressBlock(string codec, ReadOnlySpan<byte> block, IBufferWriter<byte> destination, int maxDecompressedBytes, int sourceOffset)
    {
        int length;
        try
        {
            length = Snappy.GetUncompressedLength(block);
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or IndexOutOfRangeException)
        {
            CodecErrors.ThrowLibraryError(codec, sourceOffset, e);
            return 0;
        }

        if (length < 0 || length > maxDecompressedBytes)
        {
            CodecErrors.ThrowLimitExceeded(codec, sourceOffset, (uint)length, maxDecompressedBytes);
        }

        if (length > ((long)block.Length * MaxRatio) + 64)
        {
            // No Snappy element expands more than 64 output bytes from 3 input bytes, so such a length is a lie; checking
            // it first keeps a tiny block from making the destination grow to the limit.
            CodecErrors.ThrowCorrupt(codec, "UncompressedLength", sourceOffset, "the stated uncompressed length is impossible for the block's size");
        }

        if (length == 0)
        {
            // Validate the (tiny) block anyway: a zero length followed by stray bytes is corrupt.
            if (block.Length != 1)
            {
                CodecErrors.ThrowCorrupt(codec, "Data", sourceOffset, "a zero-length Snappy block has trailing bytes");
            }

            return 0;
        }

        Span<byte> span = destination.GetSpan(length).Slice(0, length);
        int written;
        try
        {
            written = Snappy.Decompress(block, span);
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or IndexOutOfRangeException)
        {
            CodecErrors.ThrowLibraryError(codec, sourceOffset, e);
            return 0;
        }

        if (written != length)
        {
            CodecErrors.ThrowCorrupt(codec, "Data", sourceOffset, "the block decoded to fewer bytes than its header states");
        }

        destination.Advance(written);
        return written;
    }
}
