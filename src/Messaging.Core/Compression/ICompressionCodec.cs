using System.Buffers;

namespace Messaging.Compression;

/// <summary>
/// One compression codec. Implementations are stateless singletons (any reusable native state is pooled inside)
/// and safe to call from many threads at once; get one from <see cref="CompressionCodecs.Get"/>.
/// </summary>
/// <remarks>
/// Both directions append to an <see cref="IBufferWriter{T}"/> supplied by the caller, so pooled buffers plug in.
/// Decompression never writes more than <c>maxDecompressedBytes</c>: output past that limit, truncated input and
/// garbage input all throw <see cref="KafkaProtocolException"/> (the only exception type decompression
/// throws for bad bytes), never hang and never allocate in proportion to what the input claims.
/// </remarks>
internal interface ICompressionCodec
{
    /// <summary>The attribute value this codec implements.</summary>
    CompressionType Type { get; }

    /// <summary>The lowest compression level accepted.</summary>
    int MinLevel { get; }

    /// <summary>The highest compression level accepted.</summary>
    int MaxLevel { get; }

    /// <summary>The level used when none is configured.</summary>
    int DefaultLevel { get; }

    /// <summary>Compresses <paramref name="source"/> and appends the result to <paramref name="destination"/>.</summary>
    /// <param name="source">The uncompressed bytes.</param>
    /// <param name="destination">Where the compressed bytes are appended.</param>
    /// <param name="level">The compression level; values outside <see cref="MinLevel"/>..<see cref="MaxLevel"/> are clamped.</param>
    /// <returns>The number of bytes appended.</returns>
    int Compress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination, int level);

    /// <summary>Decompresses <paramref name="source"/> and appends the result to <paramref name="destination"/>.</summary>
    /// <param name="source">The compressed bytes (exactly one compressed payload; trailing bytes are an error).</param>
    /// <param name="destination">Where the decompressed bytes are appended.</param>
    /// <param name="maxDecompressedBytes">The most bytes that may be appended; more is an error.</param>
    /// <param name="sourceOffset">Where <paramref name="source"/> starts within the buffer being decoded, for error offsets.</param>
    /// <returns>The number of bytes appended.</returns>
    /// <exception cref="KafkaProtocolException">The input is malformed or truncated, or decompresses to more than
    /// <paramref name="maxDecompressedBytes"/> bytes.</exception>
    int Decompress(ReadOnlySpan<byte> source, IBufferWriter<byte> destination, int maxDecompressedBytes, int sourceOffset);
}
