using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Messaging.Protocol;

/// <summary>
/// Throw sites for the protocol layer. Each method is small, never returns and builds its message only when called,
/// so the callers on hot paths stay small enough to inline.
/// </summary>
internal static class ThrowHelper
{
    private static string Str(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Throws a <see cref="KafkaProtocolException"/> with the given location and reason.</summary>
    [DoesNotReturn]
    public static void ThrowMalformed(string? message, string? field, int offset, string reason) =>
        throw new KafkaProtocolException(message, field, offset, reason);

    /// <summary>A fixed-size field needs more bytes than remain.</summary>
    [DoesNotReturn]
    public static void ThrowTruncated(string? message, string? field, int offset, int needed, int remaining) =>
        throw new KafkaProtocolException(message, field, offset,
            "needs " + Str(needed) + " bytes but only " + Str(remaining) + " remain");

    /// <summary>A length prefix is larger than the rest of the buffer.</summary>
    [DoesNotReturn]
    public static void ThrowLengthExceedsRemaining(string? message, string? field, int offset, long length, int remaining) =>
        throw new KafkaProtocolException(message, field, offset,
            "length " + Str(length) + " exceeds the " + Str(remaining) + " bytes that remain");

    /// <summary>A length prefix is larger than a configured limit.</summary>
    [DoesNotReturn]
    public static void ThrowLengthExceedsLimit(string? message, string? field, int offset, long length, int limit, string limitName) =>
        throw new KafkaProtocolException(message, field, offset,
            "length " + Str(length) + " exceeds the configured limit of " + Str(limit) + " (ProtocolLimits." + limitName + ")");

    /// <summary>An array count is larger than a configured limit.</summary>
    [DoesNotReturn]
    public static void ThrowCountExceedsLimit(string? message, string? field, int offset, long count, int limit) =>
        throw new KafkaProtocolException(message, field, offset,
            "array count " + Str(count) + " exceeds the configured limit of " + Str(limit) + " (ProtocolLimits.MaxArrayCount)");

    /// <summary>An array count is larger than the remaining bytes (every element takes at least one byte).</summary>
    [DoesNotReturn]
    public static void ThrowCountExceedsRemaining(string? message, string? field, int offset, long count, int remaining) =>
        throw new KafkaProtocolException(message, field, offset,
            "array count " + Str(count) + " exceeds the " + Str(remaining) + " bytes that remain (each element takes at least one byte)");

    /// <summary>A length prefix is negative where that is not allowed (-1 for a non-nullable field, or below -1).</summary>
    [DoesNotReturn]
    public static void ThrowInvalidLength(string? message, string? field, int offset, long length) =>
        throw new KafkaProtocolException(message, field, offset,
            length == -1
                ? "null (length -1) is not allowed for a non-nullable field"
                : "length " + Str(length) + " is negative");

    /// <summary>A varint is truncated or longer than its type allows.</summary>
    [DoesNotReturn]
    public static void ThrowInvalidVarint(string? message, string? field, int offset, int maxBytes) =>
        throw new KafkaProtocolException(message, field, offset,
            "varint is truncated, longer than " + Str(maxBytes) + " bytes, or overflows its type");

    /// <summary>A tagged field's content did not occupy exactly its declared size.</summary>
    [DoesNotReturn]
    public static void ThrowTaggedFieldSizeMismatch(string? message, string? field, int offset, int declared, int consumed) =>
        throw new KafkaProtocolException(message, field, offset,
            "tagged field declared " + Str(declared) + " bytes but its value took " + Str(consumed));

    /// <summary>A writer was asked to write a field value that the chosen version cannot carry.</summary>
    [DoesNotReturn]
    public static void ThrowFieldNotInVersion(string message, string field, short version) =>
        throw new InvalidOperationException(
            message + "." + field + " is not part of version " + Str(version) +
            " and is not ignorable; leave it at its default value or use a version that has it.");

    /// <summary>A non-nullable field is null at write time.</summary>
    [DoesNotReturn]
    public static void ThrowNullField(string message, string field, short version) =>
        throw new InvalidOperationException(
            message + "." + field + " is null, but it is not nullable in version " + Str(version) + ".");

    /// <summary>A version outside the supported range was requested for writing or reading.</summary>
    [DoesNotReturn]
    public static void ThrowUnsupportedVersion(string message, short version, short min, short max) =>
        throw new ArgumentOutOfRangeException(nameof(version), version,
            message + " supports versions " + Str(min) + " to " + Str(max) + ", not " + Str(version) + ".");

    /// <summary>A string or bytes value is too long for its length prefix.</summary>
    [DoesNotReturn]
    public static void ThrowValueTooLong(string paramName, long length, long max) =>
        throw new ArgumentOutOfRangeException(paramName,
            "Length " + Str(length) + " exceeds the " + Str(max) + " the wire format allows.");

    /// <summary>A destination span is too small.</summary>
    [DoesNotReturn]
    public static void ThrowDestinationTooSmall(int needed, int available, string paramName = "destination") =>
        throw new ArgumentException(
            "The destination needs " + Str(needed) + " bytes but has " + Str(available) + ".", paramName);

    /// <summary>A negative count or length was passed to a writer.</summary>
    [DoesNotReturn]
    public static void ThrowNegative(string paramName, long value) =>
        throw new ArgumentOutOfRangeException(paramName, value, "The value must not be negative.");

    /// <summary>The buffer writer returned less space than requested.</summary>
    [DoesNotReturn]
    public static void ThrowBufferWriterTooSmall(int requested, int returned) =>
        throw new InvalidOperationException(
            "The IBufferWriter<byte> returned a span of " + Str(returned) + " bytes after " + Str(requested) + " were requested.");

    /// <summary>A reserved slot can no longer be written.</summary>
    [DoesNotReturn]
    public static void ThrowSlotNotWritable() =>
        throw new InvalidOperationException(
            "The reserved slot has already been committed to an IBufferWriter<byte> that is not an IContiguousBufferWriter, so it can no longer be filled. " +
            "Write through an IContiguousBufferWriter (for example ContiguousBufferWriter) to fill size prefixes after the fact.");

    /// <summary>An invalid reserved slot was passed.</summary>
    [DoesNotReturn]
    public static void ThrowInvalidSlot(string paramName = "slot") =>
        throw new ArgumentException("The slot was not reserved by this writer.", paramName);
}
