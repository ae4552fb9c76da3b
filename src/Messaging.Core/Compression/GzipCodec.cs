using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;

namespace Messaging.Compression;

/// <summary>gzip (RFC 1952) through <see cref="GZipStream"/>: levels 0-9, or -1 for zlib's default (6).</summary>
/// <remarks>
/// <para>Kafka producers (Java's <c>GZIPOutputStream</c>, librdkafka's <c>deflateInit2(…, 15 + 16, …)</c>) write a single
/// member; concatenated members are accepted as well, as Java's <c>GZIPInputStream</c> does.</para>
/// <para><see cref="GZipStream"/> verifies each member's CRC-32 but silently stops at the end of a truncated input.
/// Truncation is detected after the fact: a complete single-member input ends with ISIZE, the output length modulo
/// 2^32. If it does not match and the input holds no second gzip member header (1F 8B 08) after the first, the input
/// is truncated. A truncated multi-member input is not detected here, but a truncated records section still fails
/// record decoding (the declared record count is not reached).</para>
/// <para>Each call allocates the stream objects and zlib's native state; gzip is the slowest codec and this path is not
/// allocation-free.</para>
/// </remarks>
internal sealed class GzipCodec : ICompressionCodec
{
    private const string Name = "Gzip";
    private const int ReadChunk = 64 * 1024;

    /// <summary>The singleton.</summary>
    public static readonly GzipCodec Instance = new();

    /// <summary>A gzip member of no data: header (no name, OS unknown), an empty final fixed-Huffman block, CRC 0, size 0.</summary>
    private static ReadOnlySpan<byte> EmptyMember => [0x1F, 0x8B, 0x08, 0, 0, 0, 0, 0, 0, 0xFF, 0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0];

    private GzipCodec()
    {
    }

    /// <inheritdoc/>
    public CompressionType Type => CompressionType.Gzip;

    /// <inheritdoc/>
    public int MinLevel => -1;

    /// <inheritdoc/>
    public int MaxLevel => 9;

    /// <inheritdoc/>
    public int DefaultLevel => -1;

    /// <inheritdoc/>
    public int Compress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination, int level)
    {
        if (source.IsEmpty)
        {
            // GZipStream writes nothing at all for no input; write the canonical empty member instead.
            EmptyMember.CopyTo(destination.GetSpan(EmptyMember.Length));
            destination.Advance(EmptyMember.Length);
            return EmptyMember.Length;
        }

        var sink = new BufferWriterStream(destination);
        var options = new ZLibCompressionOptions { CompressionLevel = Math.Clamp(level, MinLevel, MaxLevel) };
        using (var gzip = new GZipStream(sink, options, leaveOpen: true))
        {
            gzip.Write(source);
        }

        return checked((int)sink.BytesWritten);
    }

    /// <inheritdoc/>
    public unsafe int Decompress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination, int maxDecompressedBytes, int sourceOffset)
    {
        if (source.Length < 20)
        {
            // Header (10) + an empty fixed-Huffman deflate block (2) + trailer (8): the smallest member.
            CodecErrors.ThrowTruncated(Name, "Header", sourceOffset);
        }

        long total = 0;
        fixed (byte* p = source)
        {
            using var input = new UnmanagedMemoryStream(p, source.Length);
            using var gzip = new GZipStream(input, CompressionMode.Decompress);
            try
            {
                while (true)
                {
                    Span<byte> span = destination.GetSpan(ReadChunk);
                    // Ask for at most one byte past the limit: enough to detect a bomb, never more.
                    long room = (long)maxDecompressedBytes - total + 1;
                    if (span.Length > room)
                    {
                        span = span.Slice(0, (int)room);
                    }

                    int n = gzip.Read(span);
                    if (n == 0)
                    {
                        break;
                    }

                    total += n;
                    if (total > maxDecompressedBytes)
                    {
                        CodecErrors.ThrowLimitExceeded(Name, sourceOffset, total, maxDecompressedBytes);
                    }

                    destination.Advance(n);
                }
            }
            catch (Exception e) when (e is InvalidDataException or IOException)
            {
                CodecErrors.ThrowLibraryError(Name, sourceOffset, e);
            }
        }

        uint isize = BinaryPrimitives.ReadUInt32LittleEndian(source.Slice(source.Length - 4));
        if (isize != (uint)total && !HasSecondMember(source))
        {
            CodecErrors.ThrowTruncated(Name, "Trailer", sourceOffset + source.Length - 8);
        }

        return (int)total;
    }

    private static bool HasSecondMember(ReadOnlySpan<byte> source)
    {
        ReadOnlySpan<byte> magic = [0x1F, 0x8B, 0x08];
        return source.Slice(10).IndexOf(magic) >= 0;
    }
}
