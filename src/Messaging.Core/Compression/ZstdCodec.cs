using System.Buffers;
using System.Numerics;
using ZstdSharp;
using ZstdSharp.Unsafe;

namespace Messaging.Compression;

/// <summary>Zstandard through ZstdSharp (a pure C# port, so no native library): levels as zstd defines them, default 3.</summary>
/// <remarks>
/// <para>Compressors and decompressors hold large native contexts, so both are pooled (a few of each) and reused;
/// compressing and decompressing into reused buffers allocates nothing on the managed heap after warm-up.</para>
/// <para>Decompression streams (<see cref="Decompressor.UnwrapStream"/>), because the Java client writes frames without a
/// content size; when a frame does state one, zstd decodes it in a single pass straight into the destination, and a size
/// above the limit is rejected before any work. Output is requested in chunks and stops one byte past the limit. The
/// decoder's window (native memory it allocates for frames without a content size) is capped by
/// <c>ZSTD_d_windowLogMax</c> at the larger of 8 MiB (what levels up to 19 use) and the limit rounded up to a power of
/// two, at most 128 MiB (zstd's own default cap): a frame that asks for a bigger window is rejected.</para>
/// </remarks>
internal sealed class ZstdCodec : ICompressionCodec
{
    private const string Name = "Zstd";
    private const int OutputChunk = 128 * 1024;
    private const int MinWindowLog = 23;
    private const int MaxWindowLog = 27;
    private const int MaxUpfrontRatio = 256;

    /// <summary>The singleton.</summary>
    public static readonly ZstdCodec Instance = new();

    private readonly CodecPool<Compressor> _compressors = new(Math.Max(2, Environment.ProcessorCount));
    private readonly CodecPool<PooledDecompressor> _decompressors = new(Math.Max(2, Environment.ProcessorCount));

    private ZstdCodec()
    {
    }

    /// <inheritdoc/>
    public CompressionType Type => CompressionType.Zstd;

    /// <inheritdoc/>
    public int MinLevel => Compressor.MinCompressionLevel;

    /// <inheritdoc/>
    public int MaxLevel => Compressor.MaxCompressionLevel;

    /// <inheritdoc/>
    public int DefaultLevel => 3;

    /// <inheritdoc/>
    public int Compress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination, int level)
    {
        level = Math.Clamp(level, MinLevel, MaxLevel);
        Compressor compressor = _compressors.TryRent() ?? new Compressor(level);
        try
        {
            if (compressor.Level != level)
            {
                compressor.Level = level;
            }

            Span<byte> span = destination.GetSpan(Compressor.GetCompressBound(source.Length));
            int written = compressor.Wrap(source, span);
            destination.Advance(written);
            return written;
        }
        finally
        {
            _compressors.Return(compressor);
        }
    }

    /// <inheritdoc/>
    public unsafe int Decompress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination, int maxDecompressedBytes, int sourceOffset)
    {
        if (source.IsEmpty)
        {
            CodecErrors.ThrowTruncated(Name, "Frame", sourceOffset);
        }

        ulong declared;
        fixed (byte* p = source)
        {
            declared = Methods.ZSTD_getFrameContentSize(p, (nuint)source.Length);
        }

        // ZSTD_CONTENTSIZE_UNKNOWN is ulong.MaxValue, ZSTD_CONTENTSIZE_ERROR ulong.MaxValue - 1 (reported by the decoder below).
        int chunk = OutputChunk;
        if (declared < ulong.MaxValue - 1)
        {
            if (declared > (ulong)maxDecompressedBytes)
            {
                CodecErrors.ThrowLimitExceeded(Name, sourceOffset, declared > long.MaxValue ? long.MaxValue : (long)declared, maxDecompressedBytes);
            }

            // Room for the whole frame lets zstd decode it in one pass, straight into the destination. The room asked
            // for up front is also bounded by the input size, so a tiny frame claiming a huge size cannot make the
            // destination grow before any data has been decoded; a frame that really expands that much streams instead.
            chunk = (int)Math.Min(Math.Max(declared, 1UL), (ulong)Math.Max(OutputChunk, (long)source.Length * MaxUpfrontRatio));
        }

        PooledDecompressor pooled = _decompressors.TryRent() ?? new PooledDecompressor();
        bool reusable = false;
        try
        {
            pooled.SetWindowLogMax(WindowLogFor(maxDecompressedBytes));
            Decompressor decompressor = pooled.Decompressor;
            int consumed = 0;
            long total = 0;
            while (true)
            {
                Span<byte> span = destination.GetSpan(chunk);
                long room = (long)maxDecompressedBytes - total + 1;
                if (span.Length > room)
                {
                    span = span.Slice(0, (int)room);
                }

                OperationStatus status = decompressor.UnwrapStream(source.Slice(consumed), span, out int read, out int written);
                consumed += read;
                total += written;
                if (total > maxDecompressedBytes)
                {
                    CodecErrors.ThrowLimitExceeded(Name, sourceOffset, total, maxDecompressedBytes);
                }

                destination.Advance(written);
                switch (status)
                {
                    case OperationStatus.Done:
                        reusable = true;
                        return (int)total;
                    case OperationStatus.NeedMoreData:
                        CodecErrors.ThrowTruncated(Name, "Frame", sourceOffset + consumed);
                        break;
                    case OperationStatus.InvalidData:
                        CodecErrors.ThrowCorrupt(Name, "Frame", sourceOffset + consumed, "the zstd data is corrupt, or needs a window larger than allowed");
                        break;
                    default:
                        // DestinationTooSmall: ask for more room and go on.
                        chunk = OutputChunk;
                        break;
                }
            }
        }
        catch (ZstdException e)
        {
            CodecErrors.ThrowLibraryError(Name, sourceOffset, e);
            return 0;
        }
        finally
        {
            if (reusable)
            {
                _decompressors.Return(pooled);
            }
            else
            {
                // After an error the context may be mid-frame; a reset is cheap, but dropping it is simpler and rare.
                pooled.Dispose();
            }
        }
    }

    private static int WindowLogFor(int limit)
    {
        int log = limit <= 1 ? 0 : BitOperations.Log2((uint)limit - 1) + 1;
        return Math.Clamp(log, MinWindowLog, MaxWindowLog);
    }

    /// <summary>A decompressor and the window cap last set on it (setting it is not free, so it is set only on change).</summary>
    private sealed class PooledDecompressor : IDisposable
    {
        private int _windowLogMax = -1;

        public Decompressor Decompressor { get; } = new();

        public void SetWindowLogMax(int value)
        {
            if (_windowLogMax != value)
            {
                Decompressor.SetParameter(ZSTD_dParameter.ZSTD_d_windowLogMax, value);
                _windowLogMax = value;
            }
        }

        public void Dispose() => Decompressor.Dispose();
    }
}
