using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Messaging.Compression;

/// <summary>Throw sites for the codecs, kept out of line so the decode loops stay small.</summary>
internal static class CodecErrors
{
    private static string Str(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>The decompressed output would exceed the caller's limit.</summary>
    [DoesNotReturn]
    public static void ThrowLimitExceeded(string codec, int offset, long produced, int limit) =>
        throw new KafkaProtocolException(codec, "DecompressedSize", offset,
            "decompressed data exceeds the limit of " + Str(limit) + " bytes (at least " + Str(produced) + " bytes)");

    /// <summary>The compressed input ends before the compressed stream does.</summary>
    [DoesNotReturn]
    public static void ThrowTruncated(string codec, string field, int offset) =>
        throw new KafkaProtocolException(codec, field, offset, "the compressed data is truncated");

    /// <summary>The compressed input is malformed.</summary>
    [DoesNotReturn]
    public static void ThrowCorrupt(string codec, string field, int offset, string reason) =>
        throw new KafkaProtocolException(codec, field, offset, reason);

    /// <summary>The underlying library rejected the input.</summary>
    [DoesNotReturn]
    public static void ThrowLibraryError(string codec, int offset, Exception error) =>
        throw new KafkaProtocolException(codec, "Data", offset, "the compressed data is corrupt: " + error.Message);
}
