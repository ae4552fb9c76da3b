using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Messaging.Records;

/// <summary>Throw sites for the record decoders, out of line so the decode loops stay small.</summary>
internal static class RecordErrors
{
    /// <summary>Message name for errors in a record batch's own bytes.</summary>
    public const string Batch = "RecordBatch";

    /// <summary>Message name for errors inside decompressed records (offsets are relative to the decompressed data).</summary>
    public const string DecompressedRecords = "RecordBatch(decompressed)";

    /// <summary>Message name for legacy (magic 0/1) messages.</summary>
    public const string Legacy = "LegacyMessage";

    /// <summary>Message name for legacy inner messages (offsets are relative to the decompressed data).</summary>
    public const string LegacyInner = "LegacyMessage(decompressed)";

    /// <summary>Message name for control records.</summary>
    public const string Control = "ControlRecord";

    public static string Str(long value) => value.ToString(CultureInfo.InvariantCulture);

    [DoesNotReturn]
    public static void Throw(string message, string field, int offset, string reason) =>
        throw new KafkaProtocolException(message, field, offset, reason);

    [DoesNotReturn]
    public static void ThrowTruncated(string message, string field, int offset) =>
        throw new KafkaProtocolException(message, field, offset, "the record ends before this field does");

    [DoesNotReturn]
    public static void ThrowInvalidVarint(string message, string field, int offset) =>
        throw new KafkaProtocolException(message, field, offset, "varint is truncated, overlong, or runs past the end of the record");

    [DoesNotReturn]
    public static void ThrowInvalidLength(string message, string field, int offset, long length, int remaining) =>
        throw new KafkaProtocolException(message, field, offset,
            length < 0
                ? "length " + Str(length) + " is negative"
                : "length " + Str(length) + " exceeds the " + Str(remaining) + " bytes that remain");

    [DoesNotReturn]
    public static void ThrowCrcMismatch(string message, int offset, uint expected, uint actual) =>
        throw new KafkaProtocolException(message, "Crc", offset,
            "checksum mismatch: the batch says 0x" + expected.ToString("X8", CultureInfo.InvariantCulture) +
            " but its bytes give 0x" + actual.ToString("X8", CultureInfo.InvariantCulture));
}
