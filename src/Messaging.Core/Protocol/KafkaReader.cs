using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace Messaging.Protocol;

/// <summary>
/// Reads Kafka protocol primitives from a span, big-endian, checking every length against the bytes that remain and
/// against <see cref="ProtocolLimits"/> before anything is allocated.
/// </summary>
/// <remarks>
/// <para>Every read advances <see cref="Position"/>. On malformed input every method throws
/// <see cref="KafkaProtocolException"/> naming <see cref="MessageName"/>, the field passed in (a constant string, so
/// naming costs nothing) and the byte offset at which the field starts; no other exception type escapes.</para>
/// <para>When constructed over a <see cref="ReadOnlyMemory{T}"/>, <c>bytes</c> and <c>records</c> fields come back as
/// zero-copy slices of that memory (<see cref="ReadBytes"/>, <see cref="ReadRecords"/>): they stay valid for as long as
/// the caller keeps the underlying buffer alive. When constructed over a bare span those readers copy the bytes into
/// a new array (after the limit checks), since a span cannot be stored.</para>
/// </remarks>
internal ref struct KafkaReader
{
    private readonly ReadOnlySpan<byte> _span;
    private readonly ReadOnlyMemory<byte> _memory;
    private readonly bool _hasMemory;
    private readonly ProtocolLimits _limits;
    private int _position;

    /// <summary>Creates a reader over a span with <see cref="ProtocolLimits.Default"/>; bytes fields are copied.</summary>
    /// <param name="buffer">The bytes to read.</param>
    public KafkaReader(ReadOnlySpan<byte> buffer)
        : this(buffer, ProtocolLimits.Default)
    {
    }

    /// <summary>Creates a reader over a span; bytes fields are copied.</summary>
    /// <param name="buffer">The bytes to read.</param>
    /// <param name="limits">The limits to apply.</param>
    public KafkaReader(ReadOnlySpan<byte> buffer, ProtocolLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        _span = buffer;
        _memory = default;
        _hasMemory = false;
        _limits = limits;
        _position = 0;
        MessageName = null;
    }

    /// <summary>Creates a reader over memory with <see cref="ProtocolLimits.Default"/>; bytes fields are zero-copy slices of it.</summary>
    /// <param name="buffer">The bytes to read.</param>
    public KafkaReader(ReadOnlyMemory<byte> buffer)
        : this(buffer, ProtocolLimits.Default)
    {
    }

    /// <summary>Creates a reader over memory; bytes fields are zero-copy slices of it.</summary>
    /// <param name="buffer">The bytes to read.</param>
    /// <param name="limits">The limits to apply.</param>
    public KafkaReader(ReadOnlyMemory<byte> buffer, ProtocolLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        _span = buffer.Span;
        _memory = buffer;
        _hasMemory = true;
        _limits = limits;
        _position = 0;
        MessageName = null;
    }

    /// <summary>The name of the message being decoded, used in error messages. Set by message decoders; a constant string.</summary>
    public string? MessageName { get; set; }

    /// <summary>
    /// Reads a null (length or count -1) in a non-nullable string, bytes or array field as empty instead of rejecting
    /// it. Set for responses only: brokers that are not Kafka's own send null there in error answers (librdkafka's mock
    /// cluster sends a null SyncGroup assignment and null JoinGroup leader and protocol names with every error), and
    /// librdkafka reads them as empty. Without it such an answer would fail to decode, hiding its error code: the
    /// connection would close instead of the error being handled. Other negative lengths are still rejected; requests
    /// are read strictly.
    /// </summary>
    public bool NullAsEmpty { readonly get; init; }

    /// <summary>The offset of the next byte to read.</summary>
    public readonly int Position => _position;

    /// <summary>The number of bytes not yet read.</summary>
    public readonly int Remaining => _span.Length - _position;

    /// <summary>The total length of the buffer.</summary>
    public readonly int Length => _span.Length;

    /// <summary>The limits this reader applies.</summary>
    public readonly ProtocolLimits Limits => _limits;

    /// <summary>True when <c>bytes</c> and <c>records</c> fields are returned as zero-copy slices.</summary>
    public readonly bool IsMemoryBacked => _hasMemory;

    /// <summary>The bytes not yet read.</summary>
    public readonly ReadOnlySpan<byte> RemainingSpan => _span.Slice(_position);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ReadOnlySpan<byte> Take(int count, string? field)
    {
        int pos = _position;
        if (_span.Length - pos < count)
        {
            ThrowHelper.ThrowTruncated(MessageName, field, pos, count, _span.Length - pos);
        }

        _position = pos + count;
        return _span.Slice(pos, count);
    }

    /// <summary>Reads a signed 8-bit integer.</summary>
    /// <param name="field">The field name for error messages.</param>
    /// <returns>The value.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public sbyte ReadInt8(string? field = null) => (sbyte)Take(1, field)[0];

    /// <summary>Reads a big-endian signed 16-bit integer.</summary>
    /// <param name="field">The field name for error messages.</param>
    /// <returns>The value.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public short ReadInt16(string? field = null) => BinaryPrimitives.ReadInt16BigEndian(Take(2, field));

    /// <summary>Reads a big-endian unsigned 16-bit integer.</summary>
    /// <param name="field">The field name for error messages.</param>
    /// <returns>The value.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ushort ReadUInt16(string? field = null) => BinaryPrimitives.ReadUInt16BigEndian(Take(2, field));

    /// <summary>Reads a big-endian signed 32-bit integer.</summary>
    /// <param name="field">The field name for error messages.</param>
    /// <returns>The value.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int ReadInt32(string? field = null) => BinaryPrimitives.ReadInt32BigEndian(Take(4, field));

    /// <summary>Reads a big-endian unsigned 32-bit integer.</summary>
    /// <param name="field">The field name for error messages.</param>
    /// <returns>The value.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint ReadUInt32(string? field = null) => BinaryPrimitives.ReadUInt32BigEndian(Take(4, field));

    /// <summary>Reads a big-endian signed 64-bit integer.</summary>
    /// <param name="field">The field name for error messages.</param>
    /// <returns>The value.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long ReadInt64(string? field = null) => BinaryPrimitives.ReadInt64BigEndian(Take(8, field));

    /// <summary>Reads a big-endian IEEE 754 double.</summary>
    /// <param name="field">The field name for error messages.</param>
    /// <returns>The value.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double ReadFloat64(string? field = null) => BinaryPrimitives.ReadDoubleBigEndian(Take(8, field));

    /// <summary>Reads a boolean: one byte, zero is false and anything else true (as Kafka reads it).</summary>
    /// <param name="field">The field name for error messages.</param>
    /// <returns>The value.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool ReadBoolean(string? field = null) => Take(1, field)[0] != 0;

    /// <summary>
    /// Reads a UUID: 16 bytes, the most significant 64 bits first, each half big-endian (Java's
    /// <c>UUID(mostSigBits, leastSigBits)</c>). The result is the <see cref="Guid"/> built with
    /// <c>new Guid(bytes, bigEndian: true)</c>, so <see cref="Guid.ToString()"/> prints the same hex digits, in the
    /// same order, as Java's <c>UUID.toString()</c>; <see cref="KafkaWriter.WriteUuid"/> writes it back byte for byte.
    /// </summary>
    /// <param name="field">The field name for error messages.</param>
    /// <returns>The value.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Guid ReadUuid(string? field = null) => new(Take(16, field), bigEndian: true);

    /// <summary>Reads an unsigned varint (at most 5 bytes).</summary>
    /// <param name="field">The field name for error messages.</param>
    /// <returns>The value.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint ReadUnsignedVarint(string? field = null)
    {
        int pos = _position;
        if (!Varint.TryReadUnsignedVarint(_span.Slice(pos), out uint value, out int read))
        {
            ThrowHelper.ThrowInvalidVarint(MessageName, field, pos, Varint.MaxVarintBytes);
        }

        _position = pos + read;
        return value;
    }

    /// <summary>Reads a zig-zag varint (at most 5 bytes).</summary>
    /// <param name="field">The field name for error messages.</param>
    /// <returns>The value.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int ReadVarint(string? field = null) => Varint.ZigZagDecode(ReadUnsignedVarint(field));

    /// <summary>Reads a zig-zag varlong (at most 10 bytes).</summary>
    /// <param name="field">The field name for error messages.</param>
    /// <returns>The value.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long ReadVarlong(string? field = null)
    {
        int pos = _position;
        if (!Varint.TryReadVarlong(_span.Slice(pos), out long value, out int read))
        {
            ThrowHelper.ThrowInvalidVarint(MessageName, field, pos, Varint.MaxVarlongBytes);
        }

        _position = pos + read;
        return value;
    }

    // ---- lengths ----------------------------------------------------------------------------------------------

    /// <summary>Reads a compact length (unsigned varint N+1, 0 meaning null) and returns N, or -1 for null.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int ReadCompactLength(string? field, int start)
    {
        uint raw = ReadUnsignedVarint(field);
        if (raw > int.MaxValue)
        {
            // N = raw - 1 can be at most int.MaxValue - 1 for a valid length; anything above cannot fit any buffer.
            ThrowHelper.ThrowLengthExceedsRemaining(MessageName, field, start, (long)raw - 1, Remaining);
        }

        return (int)raw - 1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CheckLength(int length, int limit, string limitName, string? field, int start)
    {
        if (length > Remaining)
        {
            ThrowHelper.ThrowLengthExceedsRemaining(MessageName, field, start, length, Remaining);
        }

        if (length > limit)
        {
            ThrowHelper.ThrowLengthExceedsLimit(MessageName, field, start, length, limit, limitName);
        }
    }

    // ---- strings ----------------------------------------------------------------------------------------------

    private string DecodeString(int length, string? field, int start)
    {
        CheckLength(length, _limits.MaxStringBytes, nameof(ProtocolLimits.MaxStringBytes), field, start);
        if (length == 0)
        {
            return string.Empty;
        }

        ReadOnlySpan<byte> bytes = _span.Slice(_position, length);
        _position += length;
        return Encoding.UTF8.GetString(bytes);
    }

    /// <summary>Reads a non-null string with an int16 length prefix.</summary>
    /// <param name="field">The field name for error messages.</param>
    /// <returns>The value.</returns>
    public string ReadString(string? field = null)
    {
        int start = _position;
        short length = ReadInt16(field);
        if (length < 0)
        {
            if (length == -1 && NullAsEmpty)
            {
                return string.Empty;
            }

            ThrowHelper.ThrowInvalidLength(MessageName, field, start, length);
        }

        return DecodeString(length, field, start);
    }

    /// <summary>Reads a nullable string with an int16 length prefix (-1 is null).</summary>
    /// <param name="field">The field name for error messages.</param>
    /// <returns>The value, or null.</returns>
    public string? ReadNullableString(string? field = null)
    {
        int start = _position;
        short length = ReadInt16(field);
        if (length < 0)
        {
            if (length == -1)
            {
                return null;
            }

            ThrowHelper.ThrowInvalidLength(MessageName, field, start, length);
        }

        return DecodeString(length, field, start);
    }

    /// <summary>Reads a non-null compact string (unsigned varint length + 1).</summary>
    /// <param name="field">The field name for error messages.</param>
    /// <returns>The value.</returns>
    public string ReadCompactString(string? field = null)
    {
        int start = _position;
        int length = ReadCompactLength(field, start);
        if (length < 0)
        {
            if (NullAsEmpty)
            {
                return string.Empty; // a compact length is never below -1
            }

            ThrowHelper.ThrowInvalidLength(MessageName, field, start, length);
        }

        return DecodeString(length, field, start);
    }

    /// <summary>Reads a nullable compact string (unsigned varint length + 1; 0 is null).</summary>
    /// <param name="field">The field name for error messages.</param>
    /// <returns>The value, or null.</returns>
    public string? ReadCompactNullableString(string? field = null)
    {
        int start = _position;
        int length = ReadCompactLength(field, start);
        return length < 0 ? null : DecodeString(length, field, start);
    }

    // ---- bytes ------------------------------------------------------------------------------------------------

    private ReadOnlyMemory<byte> SliceBytes(int length, int limit, string limitName, string? field, int start)
    {
        CheckLength(length, limit, limitName, field, start);
        int pos = _position;
        _position = pos + length;
        if (length == 0)
        {
            return ReadOnlyMemory<byte>.Empty;
        }

        return _hasMemory ? _memory.Slice(pos, length) : _span.Slice(pos, length).ToArray();
    }

    private ReadOnlySpan<byte> SliceSpan(int length, string? field, int start)
    {
        CheckLength(length, _limits.MaxBytesLength, nameof(ProtocolLimits.MaxBytesLength), field, start);
        int pos = _position;
        _position = pos + length;
        return _span.Slice(pos, length);
    }

    private int ReadBytesLength(bool compact, bool nullable, string? field, int start)
    {
        int length = compact ? ReadCompactLength(field, start) : ReadInt32(field);
        if (length < 0 && (!nullable || length != -1))
        {
            if (length == -1 && NullAsEmpty)
            {
                return 0;
            }

            ThrowHelper.ThrowInvalidLength(MessageName, field, start, length);
        }

        return length;
    }

    /// <summary>Reads non-null bytes with an int32 length prefix, as a slice of the input (or a copy when not memory-backed).</summary>
    /// <param name="field">The field name for error messages.</param>
    /// <returns>The value.</returns>
    public ReadOnlyMemory<byte> ReadBytes(string? field = null)
    {
        int start = _position;
        int length = ReadBytesLength(false, false, field, start);
        return SliceBytes(length, _limits.MaxBytesLength, nameof(ProtocolLimits.MaxBytesLength), field, start);
    }

    /// <summary>Reads nullable bytes with an int32 length prefix (-1 is null).</summary>
    /// <param name="field">The field name for error messages.</param>
    /// <returns>The value, or null.</returns>
    public ReadOnlyMemory<byte>? ReadNullableBytes(string? field = null)
    {
        int start = _position;
        int length = ReadBytesLength(false, true, field, start);
        return length < 0 ? (ReadOnlyMemory<byte>?)null : SliceBytes(length, _limits.MaxBytesLength, nameof(ProtocolLimits.MaxBytesLength), field, start);
    }

    /// <summary>Reads non-null compact bytes (unsigned varint length + 1).</summary>
    /// <param name="field">The field name for error messages.</param>
    /// <returns>The value.</returns>
    public ReadOnlyMemory<byte> ReadCompactBytes(string? field = null)
    {
        int start = _position;
        int length = ReadBytesLength(true, false, field, start);
        return SliceBytes(length, _limits.MaxBytesLength, nameof(ProtocolLimits.MaxBytesLength), field, start);
    }

    /// <summary>Reads nullable compact bytes (unsigned varint length + 1; 0 is null).</summary>
    /// <param name="field">The field name for error messages.</param>
    /// <returns>The value, or null.</returns>
    public ReadOnlyMemory<byte>? ReadCompactNullableBytes(string? field = null)
    {
        int start = _position;
        int length = ReadBytesLength(true, true, field, start);
        return length < 0 ? (ReadOnlyMemory<byte>?)null : SliceBytes(length, _limits.MaxBytesLength, nameof(ProtocolLimits.MaxBytesLength), field, start);
    }

    /// <summary>Reads non-null bytes (int32 length, or compact when <paramref name="compact"/>) as a span of the input; never copies.</summary>
    /// <param name="compact">True for the compact (unsigned varint length + 1) form.</param>
    /// <param name="field">The field name for error messages.</param>
    /// <returns>The bytes.</returns>
    public ReadOnlySpan<byte> ReadBytesSpan(bool compact, string? field = null)
    {
        int start = _position;
        int length = ReadBytesLength(compact, false, field, start);
        return SliceSpan(length, field, start);
    }

    /// <summary>
    /// Reads a <c>records</c> field: nullable bytes holding record batches, int32-prefixed or compact. Returned as a
    /// zero-copy slice when memory-backed. Bounded by <see cref="ProtocolLimits.MaxBytesLength"/>.
    /// </summary>
    /// <param name="compact">True for the compact (unsigned varint length + 1) form.</param>
    /// <param name="field">The field name for error messages.</param>
    /// <returns>The record bytes, or null.</returns>
    public ReadOnlyMemory<byte>? ReadRecords(bool compact, string? field = null)
    {
        int start = _position;
        int length = ReadBytesLength(compact, true, field, start);
        return length < 0 ? (ReadOnlyMemory<byte>?)null : SliceBytes(length, _limits.MaxBytesLength, nameof(ProtocolLimits.MaxBytesLength), field, start);
    }

    /// <summary>Reads <paramref name="count"/> raw bytes as a span of the input.</summary>
    /// <param name="count">The number of bytes.</param>
    /// <param name="field">The field name for error messages.</param>
    /// <returns>The bytes.</returns>
    public ReadOnlySpan<byte> ReadRawSpan(int count, string? field = null)
    {
        if (count < 0)
        {
            ThrowHelper.ThrowInvalidLength(MessageName, field, _position, count);
        }

        return Take(count, field);
    }

    /// <summary>Skips <paramref name="count"/> bytes.</summary>
    /// <param name="count">The number of bytes to skip.</param>
    /// <param name="field">The field name for error messages.</param>
    public void Skip(int count, string? field = null)
    {
        if (count < 0)
        {
            ThrowHelper.ThrowInvalidLength(MessageName, field, _position, count);
        }

        _ = Take(count, field);
    }

    // ---- arrays -----------------------------------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CheckCount(int count, string? field, int start)
    {
        // Every element takes at least one byte, so a count above Remaining cannot be genuine.
        if (count > Remaining)
        {
            ThrowHelper.ThrowCountExceedsRemaining(MessageName, field, start, count, Remaining);
        }

        if (count > _limits.MaxArrayCount)
        {
            ThrowHelper.ThrowCountExceedsLimit(MessageName, field, start, count, _limits.MaxArrayCount);
        }
    }

    /// <summary>Reads a non-null classic array count (int32).</summary>
    /// <param name="field">The field name for error messages.</param>
    /// <returns>The element count, checked against the remaining bytes and <see cref="ProtocolLimits.MaxArrayCount"/>.</returns>
    public int ReadArrayLength(string? field = null)
    {
        int start = _position;
        int count = ReadInt32(field);
        if (count < 0)
        {
            if (count == -1 && NullAsEmpty)
            {
                return 0;
            }

            ThrowHelper.ThrowInvalidLength(MessageName, field, start, count);
        }

        CheckCount(count, field, start);
        return count;
    }

    /// <summary>Reads a nullable classic array count (int32, -1 is null).</summary>
    /// <param name="field">The field name for error messages.</param>
    /// <returns>The element count, or -1 for null.</returns>
    public int ReadNullableArrayLength(string? field = null)
    {
        int start = _position;
        int count = ReadInt32(field);
        if (count < 0)
        {
            if (count == -1)
            {
                return -1;
            }

            ThrowHelper.ThrowInvalidLength(MessageName, field, start, count);
        }

        CheckCount(count, field, start);
        return count;
    }

    /// <summary>Reads a non-null compact array count (unsigned varint N+1).</summary>
    /// <param name="field">The field name for error messages.</param>
    /// <returns>The element count, checked against the remaining bytes and <see cref="ProtocolLimits.MaxArrayCount"/>.</returns>
    public int ReadCompactArrayLength(string? field = null)
    {
        int start = _position;
        int count = ReadCompactLength(field, start);
        if (count < 0)
        {
            if (NullAsEmpty)
            {
                return 0; // a compact count is never below -1
            }

            ThrowHelper.ThrowInvalidLength(MessageName, field, start, count);
        }

        CheckCount(count, field, start);
        return count;
    }

    /// <summary>Reads a nullable compact array count (unsigned varint N+1, 0 is null).</summary>
    /// <param name="field">The field name for error messages.</param>
    /// <returns>The element count, or -1 for null.</returns>
    public int ReadCompactNullableArrayLength(string? field = null)
    {
        int start = _position;
        int count = ReadCompactLength(field, start);
        if (count >= 0)
        {
            CheckCount(count, field, start);
        }

        return count;
    }

    // ---- tagged fields ----------------------------------------------------------------------------------------

    /// <summary>
    /// Reads the count that opens a tagged-field section. Follow with <paramref name="field"/>-many calls to
    /// <see cref="ReadTaggedFieldHeader"/>; for each, either decode the value and call <see cref="EndTaggedField"/>, or
    /// <see cref="Skip"/> the declared size when the tag is unknown. Use <see cref="SkipTaggedFields"/> when no tag is known.
    /// </summary>
    /// <param name="field">The field name for error messages.</param>
    /// <returns>The number of tagged fields that follow.</returns>
    public int ReadTaggedFieldCount(string? field = "_tagged_fields")
    {
        int start = _position;
        uint count = ReadUnsignedVarint(field);

        // Each tagged field takes at least two bytes (tag and size).
        if (count > (uint)Remaining / 2)
        {
            ThrowHelper.ThrowCountExceedsRemaining(MessageName, field, start, count, Remaining);
        }

        if (count > (uint)_limits.MaxArrayCount)
        {
            ThrowHelper.ThrowCountExceedsLimit(MessageName, field, start, count, _limits.MaxArrayCount);
        }

        return (int)count;
    }

    /// <summary>Reads one tagged field's tag and size; the size is checked against the remaining bytes.</summary>
    /// <param name="size">The number of bytes the field's value takes.</param>
    /// <param name="field">The field name for error messages.</param>
    /// <returns>The tag.</returns>
    public uint ReadTaggedFieldHeader(out int size, string? field = "_tagged_fields")
    {
        uint tag = ReadUnsignedVarint(field);
        int start = _position;
        uint raw = ReadUnsignedVarint(field);
        if (raw > (uint)Remaining)
        {
            ThrowHelper.ThrowLengthExceedsRemaining(MessageName, field, start, raw, Remaining);
        }

        size = (int)raw;
        return tag;
    }

    /// <summary>Checks that a known tagged field's value took exactly its declared size.</summary>
    /// <param name="valueStart">The <see cref="Position"/> right after <see cref="ReadTaggedFieldHeader"/>.</param>
    /// <param name="size">The size <see cref="ReadTaggedFieldHeader"/> reported.</param>
    /// <param name="field">The field name for error messages.</param>
    public readonly void EndTaggedField(int valueStart, int size, string? field = null)
    {
        int consumed = _position - valueStart;
        if (consumed != size)
        {
            ThrowHelper.ThrowTaggedFieldSizeMismatch(MessageName, field, valueStart, size, consumed);
        }
    }

    /// <summary>Reads a tagged-field section and skips every field in it.</summary>
    /// <param name="field">The field name for error messages.</param>
    public void SkipTaggedFields(string? field = "_tagged_fields")
    {
        int count = ReadTaggedFieldCount(field);
        for (int i = 0; i < count; i++)
        {
            _ = ReadTaggedFieldHeader(out int size, field);
            Skip(size, field);
        }
    }

    /// <summary>Throws unless every byte has been read (for decoders that must consume a whole frame).</summary>
    /// <param name="field">What was being decoded, for error messages.</param>
    public readonly void EnsureEnd(string? field = null)
    {
        if (_position != _span.Length)
        {
            ThrowHelper.ThrowMalformed(MessageName, field, _position,
                (_span.Length - _position).ToString(System.Globalization.CultureInfo.InvariantCulture) + " bytes remain after the end of the message");
        }
    }
}
