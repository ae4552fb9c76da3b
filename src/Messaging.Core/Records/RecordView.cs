using System.Runtime.InteropServices;

namespace Messaging.Records;

/// <summary>
/// One decoded record: absolute offset and timestamp, and key, value and headers as slices of the batch bytes (or of the
/// decompression buffer for a compressed batch); nothing is copied. A value type, so decoding into a reused
/// <c>RecordView[]</c> or <see cref="Span{T}"/> allocates nothing per record.
/// </summary>
/// <remarks>
/// The slices are valid as long as the memory they point into: the fetch response bytes for uncompressed batches, the
/// <see cref="Compression.IDecompressionBuffer"/> for compressed ones. Copy what must outlive that.
/// </remarks>
[StructLayout(LayoutKind.Auto)]
internal readonly struct RecordView
{
    private readonly byte _flags;

    internal RecordView(long offset, long timestamp, ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, RecordHeaders headers, byte attributes, bool keyNull, bool valueNull)
    {
        Offset = offset;
        Timestamp = timestamp;
        Key = key;
        Value = value;
        Headers = headers;
        Attributes = attributes;
        _flags = (byte)((keyNull ? 1 : 0) | (valueNull ? 2 : 0));
    }

    /// <summary>The record's absolute offset in its partition.</summary>
    public long Offset { get; }

    /// <summary>The record's timestamp in milliseconds since the Unix epoch (the batch's max timestamp under
    /// <see cref="TimestampType.LogAppendTime"/>; -1 for magic-0 messages).</summary>
    public long Timestamp { get; }

    /// <summary>The key; empty when <see cref="IsKeyNull"/>.</summary>
    public ReadOnlyMemory<byte> Key { get; }

    /// <summary>The value; empty when <see cref="IsValueNull"/>.</summary>
    public ReadOnlyMemory<byte> Value { get; }

    /// <summary>The headers (none for legacy messages).</summary>
    public RecordHeaders Headers { get; }

    /// <summary>The record's attributes byte (unused by Kafka so far; legacy messages report their message attributes).</summary>
    public byte Attributes { get; }

    /// <summary>True when the key is null (as opposed to empty).</summary>
    public bool IsKeyNull => (_flags & 1) != 0;

    /// <summary>True when the value is null (a tombstone), as opposed to empty.</summary>
    public bool IsValueNull => (_flags & 2) != 0;
}
