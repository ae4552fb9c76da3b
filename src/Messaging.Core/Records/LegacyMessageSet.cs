using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Messaging.Records;

/// <summary>One parsed legacy (magic 0 or 1) message: positions of its parts within the buffer it was parsed from.</summary>
[StructLayout(LayoutKind.Auto)]
internal readonly struct LegacyMessage
{
    public required long Offset { get; init; }

    public required int Size { get; init; }

    public required uint Crc { get; init; }

    public required byte Magic { get; init; }

    public required byte Attributes { get; init; }

    /// <summary>The timestamp (magic 1), or -1 (magic 0).</summary>
    public required long Timestamp { get; init; }

    public required int KeyStart { get; init; }

    /// <summary>The key length, or -1 for a null key.</summary>
    public required int KeyLength { get; init; }

    public required int ValueStart { get; init; }

    /// <summary>The value length, or -1 for a null value.</summary>
    public required int ValueLength { get; init; }

    /// <summary>The position just past the message.</summary>
    public required int End { get; init; }

    public int CompressionBits => Attributes & RecordBatchLayout.CompressionMask;
}

/// <summary>
/// Parsing of legacy message sets (magic 0 and 1), which are read-only here:
/// <c>offset int64, message_size int32, crc int32 (CRC-32 of magic..end), magic int8, attributes int8,
/// [timestamp int64 (magic 1)], key bytes (int32 length, -1 = null), value bytes (int32 length, -1 = null)</c>.
/// </summary>
internal static class LegacyMessageSet
{
    /// <summary>The smallest message size for <paramref name="magic"/>.</summary>
    public static int MinSize(byte magic) => magic == 0 ? RecordBatchLayout.LegacyMinSizeV0 : RecordBatchLayout.LegacyMinSizeV1;

    /// <summary>
    /// Parses the message whose log entry starts at <paramref name="start"/>. The caller has checked that the entry
    /// (12 + message size bytes) lies within <paramref name="span"/> and that the size is at least
    /// <see cref="MinSize"/> for the magic at <c>start + 16</c>, which is 0 or 1.
    /// </summary>
    public static LegacyMessage Parse(ReadOnlySpan<byte> span, int start, string errorName, int errorBase, bool verifyCrc)
    {
        int size = BinaryPrimitives.ReadInt32BigEndian(span.Slice(start + RecordBatchLayout.BatchLength));
        int end = start + RecordBatchLayout.LogOverhead + size;
        byte magic = span[start + RecordBatchLayout.LegacyMagic];
        uint crc = BinaryPrimitives.ReadUInt32BigEndian(span.Slice(start + RecordBatchLayout.LegacyCrc));
        byte attributes = span[start + RecordBatchLayout.LegacyAttributes];
        if ((attributes & RecordBatchLayout.CompressionMask) > 3)
        {
            RecordErrors.Throw(errorName, "Attributes", errorBase + start + RecordBatchLayout.LegacyAttributes,
                "compression type " + RecordErrors.Str(attributes & RecordBatchLayout.CompressionMask) + " is not valid for magic " + RecordErrors.Str(magic));
        }

        int position = start + RecordBatchLayout.LegacyAttributes + 1;
        long timestamp = RecordBatchLayout.NoTimestamp;
        if (magic == 1)
        {
            timestamp = BinaryPrimitives.ReadInt64BigEndian(span.Slice(position));
            position += 8;
        }

        int keyStart = position + 4;
        int keyLength = ReadLength(span, ref position, end, "KeyLength", errorName, errorBase);
        int valueStart = position + 4;
        int valueLength = ReadLength(span, ref position, end, "ValueLength", errorName, errorBase);
        if (position != end)
        {
            RecordErrors.Throw(errorName, "MessageSize", errorBase + start + RecordBatchLayout.BatchLength,
                "message size " + RecordErrors.Str(size) + " does not match its contents (" + RecordErrors.Str(end - position) + " bytes left over)");
        }

        if (verifyCrc)
        {
            uint actual = LegacyCrc32.Compute(span.Slice(start + RecordBatchLayout.LegacyMagic, end - start - RecordBatchLayout.LegacyMagic));
            if (actual != crc)
            {
                RecordErrors.ThrowCrcMismatch(errorName, errorBase + start + RecordBatchLayout.LegacyCrc, crc, actual);
            }
        }

        long offset = BinaryPrimitives.ReadInt64BigEndian(span.Slice(start));
        if (offset < 0 || offset == long.MaxValue)
        {
            // The offset after the message (where a consumer goes next) must be a larger long: no wrap-around.
            RecordErrors.Throw(errorName, "Offset", errorBase + start, "offset " + RecordErrors.Str(offset) + " is negative or leaves no offset after the message");
        }

        return new LegacyMessage
        {
            Offset = offset,
            Size = size,
            Crc = crc,
            Magic = magic,
            Attributes = attributes,
            Timestamp = timestamp,
            KeyStart = keyStart,
            KeyLength = keyLength,
            ValueStart = valueStart,
            ValueLength = valueLength,
            End = end,
        };
    }

    /// <summary>
    /// Checks the framing of the log entry at <paramref name="position"/> inside a decompressed inner message set, where
    /// (unlike a fetch response) a partial entry is an error. Returns the position after it.
    /// </summary>
    public static int CheckInnerEntry(ReadOnlySpan<byte> span, int position, byte wrapperMagic, string errorName)
    {
        int remaining = span.Length - position;
        if (remaining < RecordBatchLayout.LogOverhead + 5)
        {
            RecordErrors.Throw(errorName, "Message", position, "the inner message set ends inside a message header");
        }

        int size = BinaryPrimitives.ReadInt32BigEndian(span.Slice(position + RecordBatchLayout.BatchLength));
        byte magic = span[position + RecordBatchLayout.LegacyMagic];
        if (magic != wrapperMagic)
        {
            RecordErrors.Throw(errorName, "Magic", position + RecordBatchLayout.LegacyMagic,
                "inner message magic " + RecordErrors.Str(magic) + " does not match the wrapper's magic " + RecordErrors.Str(wrapperMagic));
        }

        if (size < MinSize(magic) || size > remaining - RecordBatchLayout.LogOverhead)
        {
            RecordErrors.ThrowInvalidLength(errorName, "MessageSize", position + RecordBatchLayout.BatchLength, size, remaining - RecordBatchLayout.LogOverhead);
        }

        return position + RecordBatchLayout.LogOverhead + size;
    }

    private static int ReadLength(ReadOnlySpan<byte> span, ref int position, int end, string field, string errorName, int errorBase)
    {
        if (end - position < 4)
        {
            RecordErrors.ThrowTruncated(errorName, field, errorBase + position);
        }

        int length = BinaryPrimitives.ReadInt32BigEndian(span.Slice(position));
        int at = position;
        position += 4;
        if (length == -1)
        {
            return -1;
        }

        if (length < 0 || length > end - position)
        {
            RecordErrors.ThrowInvalidLength(errorName, field, errorBase + at, length, end - position);
        }

        position += length;
        return length;
    }
}
