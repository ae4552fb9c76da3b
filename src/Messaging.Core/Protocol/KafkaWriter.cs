using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;

namespace Messaging.Protocol;

/// <summary>
/// Writes Kafka protocol primitives, big-endian, into an <see cref="IBufferWriter{T}"/>.
/// </summary>
/// <remarks>
/// <para><b>Chunks and commits.</b> The writer asks the output for a span (at least <see cref="MinChunkSize"/> bytes),
/// fills it, and commits it with <see cref="IBufferWriter{T}.Advance"/> only when it needs a new span or when
/// <see cref="Flush"/> is called. <b>Whoever creates the writer must call <see cref="Flush"/></b> (or
/// <see cref="Dispose"/>, which flushes) before reading the output or handing it on; bytes written since the last
/// flush are otherwise not committed. The writer is a <c>ref struct</c>: pass it by <c>ref</c>, never by value, or
/// the copies will disagree about what has been committed.</para>
/// <para><b>Size prefixes.</b> <see cref="ReserveInt32"/> writes a 4-byte placeholder and returns an
/// <see cref="Int32Slot"/>; <see cref="WriteReservedInt32"/> fills it later. While the slot is still in the current
/// (uncommitted) span this always works. Once the span has been committed it works only when the output implements
/// <see cref="IContiguousBufferWriter"/> (for example <see cref="ContiguousBufferWriter"/>), because a general
/// <see cref="IBufferWriter{T}"/> may have moved or sent the committed bytes; otherwise it throws
/// <see cref="InvalidOperationException"/>. Frame and record-batch encoders therefore write into an
/// <see cref="IContiguousBufferWriter"/>.</para>
/// <para>Caller errors (a string longer than its prefix allows, a negative count) throw
/// <see cref="ArgumentException"/>; they are bugs, not malformed input.</para>
/// </remarks>
internal ref struct KafkaWriter
{
    /// <summary>The smallest span requested from the output at a time.</summary>
    public const int MinChunkSize = 256;

    private readonly IBufferWriter<byte> _output;
    private readonly IContiguousBufferWriter? _contiguous;
    private readonly int _contiguousBase;
    private Span<byte> _span;
    private int _buffered;
    private long _committed;

    /// <summary>Creates a writer that appends to <paramref name="output"/>.</summary>
    /// <param name="output">Where the bytes go. If it implements <see cref="IContiguousBufferWriter"/>, reserved slots can be filled after their span is committed.</param>
    public KafkaWriter(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        _output = output;
        _contiguous = output as IContiguousBufferWriter;
        _contiguousBase = _contiguous?.WrittenCount ?? 0;
        _span = default;
        _buffered = 0;
        _committed = 0;
    }

    /// <summary>The number of bytes written through this writer, committed or not.</summary>
    public readonly long BytesWritten => _committed + _buffered;

    /// <summary>The number of bytes written but not yet committed to the output.</summary>
    public readonly int BytesBuffered => _buffered;

    /// <summary>Commits the bytes written so far to the output. Must be called before the output is read.</summary>
    public void Flush()
    {
        if (_buffered > 0)
        {
            _output.Advance(_buffered);
            _committed += _buffered;
            _buffered = 0;
        }

        _span = default;
    }

    /// <summary>Same as <see cref="Flush"/>, so that <c>using</c> can be used.</summary>
    public void Dispose() => Flush();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Span<byte> Acquire(int size)
    {
        if (_span.Length - _buffered < size)
        {
            Grow(size);
        }

        return _span.Slice(_buffered);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Grow(int size)
    {
        Flush();
        Span<byte> span = _output.GetSpan(Math.Max(size, MinChunkSize));
        if (span.Length < size)
        {
            ThrowHelper.ThrowBufferWriterTooSmall(size, span.Length);
        }

        _span = span;
    }

    /// <summary>Writes a signed 8-bit integer.</summary>
    /// <param name="value">The value.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteInt8(sbyte value)
    {
        Acquire(1)[0] = (byte)value;
        _buffered += 1;
    }

    /// <summary>Writes a boolean as one byte, 1 or 0.</summary>
    /// <param name="value">The value.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteBoolean(bool value)
    {
        Acquire(1)[0] = value ? (byte)1 : (byte)0;
        _buffered += 1;
    }

    /// <summary>Writes a big-endian signed 16-bit integer.</summary>
    /// <param name="value">The value.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteInt16(short value)
    {
        BinaryPrimitives.WriteInt16BigEndian(Acquire(2), value);
        _buffered += 2;
    }

    /// <summary>Writes a big-endian unsigned 16-bit integer.</summary>
    /// <param name="value">The value.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteUInt16(ushort value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(Acquire(2), value);
        _buffered += 2;
    }

    /// <summary>Writes a big-endian signed 32-bit integer.</summary>
    /// <param name="value">The value.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteInt32(int value)
    {
        BinaryPrimitives.WriteInt32BigEndian(Acquire(4), value);
        _buffered += 4;
    }

    /// <summary>Writes a big-endian unsigned 32-bit integer.</summary>
    /// <param name="value">The value.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteUInt32(uint value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(Acquire(4), value);
        _buffered += 4;
    }

    /// <summary>Writes a big-endian signed 64-bit integer.</summary>
    /// <param name="value">The value.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteInt64(long value)
    {
        BinaryPrimitives.WriteInt64BigEndian(Acquire(8), value);
        _buffered += 8;
    }

    /// <summary>Writes a big-endian IEEE 754 double.</summary>
    /// <param name="value">The value.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteFloat64(double value)
    {
        BinaryPrimitives.WriteDoubleBigEndian(Acquire(8), value);
        _buffered += 8;
    }

    /// <summary>Writes a UUID as 16 bytes in Kafka order (the <see cref="Guid"/>'s big-endian RFC 4122 bytes; see <see cref="KafkaReader.ReadUuid"/>).</summary>
    /// <param name="value">The value.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteUuid(Guid value)
    {
        _ = value.TryWriteBytes(Acquire(16), bigEndian: true, out _);
        _buffered += 16;
    }

    /// <summary>Writes an unsigned varint (1 to 5 bytes).</summary>
    /// <param name="value">The value.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteUnsignedVarint(uint value)
    {
        // Acquire first: it may commit the current span and reset _buffered.
        Span<byte> span = Acquire(Varint.MaxVarintBytes);
        _buffered += Varint.WriteUnsignedVarint(span, value);
    }

    /// <summary>Writes a zig-zag varint (1 to 5 bytes).</summary>
    /// <param name="value">The value.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteVarint(int value)
    {
        Span<byte> span = Acquire(Varint.MaxVarintBytes);
        _buffered += Varint.WriteVarint(span, value);
    }

    /// <summary>Writes a zig-zag varlong (1 to 10 bytes).</summary>
    /// <param name="value">The value.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteVarlong(long value)
    {
        Span<byte> span = Acquire(Varint.MaxVarlongBytes);
        _buffered += Varint.WriteVarlong(span, value);
    }

    /// <summary>Copies raw bytes, with no length prefix, committing spans as it goes if they do not fit one.</summary>
    /// <param name="value">The bytes.</param>
    public void WriteRawBytes(scoped ReadOnlySpan<byte> value)
    {
        while (true)
        {
            int room = _span.Length - _buffered;
            if (value.Length <= room)
            {
                value.CopyTo(_span.Slice(_buffered));
                _buffered += value.Length;
                return;
            }

            if (room > 0)
            {
                value.Slice(0, room).CopyTo(_span.Slice(_buffered));
                _buffered += room;
                value = value.Slice(room);
            }

            Grow(Math.Min(value.Length, 64 * 1024));
        }
    }

    // ---- strings ----------------------------------------------------------------------------------------------

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Utf8Length(string value)
    {
        int length = Encoding.UTF8.GetByteCount(value);
        if (length > short.MaxValue)
        {
            ThrowHelper.ThrowValueTooLong(nameof(value), length, short.MaxValue);
        }

        return length;
    }

    private void WriteUtf8(string value, int length)
    {
        if (length == 0)
        {
            return;
        }

        Span<byte> span = Acquire(length);
        _buffered += Encoding.UTF8.GetBytes(value, span);
    }

    /// <summary>Writes a non-null string with an int16 length prefix.</summary>
    /// <param name="value">The value; at most 32767 UTF-8 bytes.</param>
    public void WriteString(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        int length = Utf8Length(value);
        WriteInt16((short)length);
        WriteUtf8(value, length);
    }

    /// <summary>Writes a nullable string with an int16 length prefix (-1 for null).</summary>
    /// <param name="value">The value, or null; at most 32767 UTF-8 bytes.</param>
    public void WriteNullableString(string? value)
    {
        if (value is null)
        {
            WriteInt16(-1);
            return;
        }

        WriteString(value);
    }

    /// <summary>Writes a non-null compact string (unsigned varint length + 1).</summary>
    /// <param name="value">The value; at most 32767 UTF-8 bytes (Kafka's limit for every string).</param>
    public void WriteCompactString(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        int length = Utf8Length(value);
        WriteUnsignedVarint((uint)length + 1);
        WriteUtf8(value, length);
    }

    /// <summary>Writes a nullable compact string (unsigned varint length + 1; 0 for null).</summary>
    /// <param name="value">The value, or null.</param>
    public void WriteCompactNullableString(string? value)
    {
        if (value is null)
        {
            WriteUnsignedVarint(0);
            return;
        }

        WriteCompactString(value);
    }

    // ---- bytes ------------------------------------------------------------------------------------------------

    /// <summary>Writes non-null bytes with an int32 length prefix.</summary>
    /// <param name="value">The bytes.</param>
    public void WriteBytes(scoped ReadOnlySpan<byte> value)
    {
        WriteInt32(value.Length);
        WriteRawBytes(value);
    }

    /// <summary>Writes nullable bytes with an int32 length prefix (-1 for null).</summary>
    /// <param name="value">The bytes, or null.</param>
    public void WriteNullableBytes(ReadOnlyMemory<byte>? value)
    {
        if (value is not { } bytes)
        {
            WriteInt32(-1);
            return;
        }

        WriteBytes(bytes.Span);
    }

    /// <summary>Writes non-null compact bytes (unsigned varint length + 1).</summary>
    /// <param name="value">The bytes.</param>
    public void WriteCompactBytes(scoped ReadOnlySpan<byte> value)
    {
        WriteUnsignedVarint((uint)value.Length + 1);
        WriteRawBytes(value);
    }

    /// <summary>Writes nullable compact bytes (unsigned varint length + 1; 0 for null).</summary>
    /// <param name="value">The bytes, or null.</param>
    public void WriteCompactNullableBytes(ReadOnlyMemory<byte>? value)
    {
        if (value is not { } bytes)
        {
            WriteUnsignedVarint(0);
            return;
        }

        WriteCompactBytes(bytes.Span);
    }

    /// <summary>Writes a <c>records</c> field: nullable bytes holding record batches, int32-prefixed or compact.</summary>
    /// <param name="value">The encoded record batches, or null.</param>
    /// <param name="compact">True for the compact form.</param>
    public void WriteRecords(ReadOnlyMemory<byte>? value, bool compact)
    {
        if (compact)
        {
            WriteCompactNullableBytes(value);
        }
        else
        {
            WriteNullableBytes(value);
        }
    }

    // ---- arrays -----------------------------------------------------------------------------------------------

    /// <summary>Writes a classic array count (int32).</summary>
    /// <param name="count">The element count; not negative.</param>
    public void WriteArrayLength(int count)
    {
        if (count < 0)
        {
            ThrowHelper.ThrowNegative(nameof(count), count);
        }

        WriteInt32(count);
    }

    /// <summary>Writes a nullable classic array count (int32; -1 for null).</summary>
    /// <param name="count">The element count, or -1 for null.</param>
    public void WriteNullableArrayLength(int count)
    {
        if (count < -1)
        {
            ThrowHelper.ThrowNegative(nameof(count), count);
        }

        WriteInt32(count);
    }

    /// <summary>Writes a compact array count (unsigned varint count + 1).</summary>
    /// <param name="count">The element count; not negative.</param>
    public void WriteCompactArrayLength(int count)
    {
        if (count < 0)
        {
            ThrowHelper.ThrowNegative(nameof(count), count);
        }

        WriteUnsignedVarint((uint)count + 1);
    }

    /// <summary>Writes a nullable compact array count (unsigned varint count + 1; 0 for null).</summary>
    /// <param name="count">The element count, or -1 for null.</param>
    public void WriteCompactNullableArrayLength(int count)
    {
        if (count < -1)
        {
            ThrowHelper.ThrowNegative(nameof(count), count);
        }

        WriteUnsignedVarint((uint)(count + 1));
    }

    // ---- tagged fields ----------------------------------------------------------------------------------------

    /// <summary>Writes an empty tagged-field section (a single zero byte).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WriteEmptyTaggedFields()
    {
        Acquire(1)[0] = 0;
        _buffered += 1;
    }

    /// <summary>Writes the count that opens a tagged-field section. The fields must follow in increasing tag order.</summary>
    /// <param name="count">The number of tagged fields.</param>
    public void WriteTaggedFieldCount(int count)
    {
        if (count < 0)
        {
            ThrowHelper.ThrowNegative(nameof(count), count);
        }

        WriteUnsignedVarint((uint)count);
    }

    /// <summary>Writes one tagged field's tag and size; the value (exactly <paramref name="size"/> bytes) must follow.</summary>
    /// <param name="tag">The tag.</param>
    /// <param name="size">The size of the value in bytes.</param>
    public void WriteTaggedFieldHeader(uint tag, int size)
    {
        if (size < 0)
        {
            ThrowHelper.ThrowNegative(nameof(size), size);
        }

        WriteUnsignedVarint(tag);
        WriteUnsignedVarint((uint)size);
    }

    // ---- reserved slots ---------------------------------------------------------------------------------------

    /// <summary>
    /// Writes a 4-byte placeholder (zero) and returns a handle to fill it later with <see cref="WriteReservedInt32"/>,
    /// typically with a size computed from <see cref="BytesWritten"/>. See the type remarks for when filling works.
    /// </summary>
    /// <returns>The slot.</returns>
    public Int32Slot ReserveInt32()
    {
        long position = BytesWritten;
        WriteInt32(0);
        return new Int32Slot(position);
    }

    /// <summary>Fills a slot returned by <see cref="ReserveInt32"/> with a big-endian int32.</summary>
    /// <param name="slot">The slot.</param>
    /// <param name="value">The value.</param>
    /// <exception cref="ArgumentException">The slot was not reserved by this writer.</exception>
    /// <exception cref="InvalidOperationException">The slot's span was committed to an output that is not an <see cref="IContiguousBufferWriter"/>.</exception>
    public void WriteReservedInt32(Int32Slot slot, int value)
    {
        long position = slot.Position;
        if (!slot.IsValid || position + 4 > BytesWritten)
        {
            ThrowHelper.ThrowInvalidSlot();
        }

        if (position >= _committed)
        {
            BinaryPrimitives.WriteInt32BigEndian(_span.Slice((int)(position - _committed)), value);
            return;
        }

        if (_contiguous is null)
        {
            ThrowHelper.ThrowSlotNotWritable();
        }

        // A slot is reserved within one span, so once any of it is committed all of it is.
        BinaryPrimitives.WriteInt32BigEndian(_contiguous.WrittenSpan.Slice(_contiguousBase + (int)position), value);
    }

    /// <summary>The bytes written between a slot and the current position, not counting the slot itself (a size prefix's value).</summary>
    /// <param name="slot">A slot returned by <see cref="ReserveInt32"/>.</param>
    /// <returns>The number of bytes written after the slot.</returns>
    public readonly int BytesSince(Int32Slot slot) => checked((int)(BytesWritten - slot.Position - 4));
}

/// <summary>A 4-byte placeholder reserved by <see cref="KafkaWriter.ReserveInt32"/>.</summary>
internal readonly struct Int32Slot : IEquatable<Int32Slot>
{
    private readonly long _positionPlusOne;

    internal Int32Slot(long position) => _positionPlusOne = position + 1;

    /// <summary>The slot's offset from the start of the writer.</summary>
    public long Position => _positionPlusOne - 1;

    /// <summary>False for <c>default(Int32Slot)</c>.</summary>
    public bool IsValid => _positionPlusOne > 0;

    /// <inheritdoc/>
    public bool Equals(Int32Slot other) => _positionPlusOne == other._positionPlusOne;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Int32Slot other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => _positionPlusOne.GetHashCode();

    /// <summary>Compares two slots.</summary>
    /// <param name="left">The first slot.</param>
    /// <param name="right">The second slot.</param>
    /// <returns>True if equal.</returns>
    public static bool operator ==(Int32Slot left, Int32Slot right) => left.Equals(right);

    /// <summary>Compares two slots.</summary>
    /// <param name="left">The first slot.</param>
    /// <param name="right">The second slot.</param>
    /// <returns>True if different.</returns>
    public static bool operator !=(Int32Slot left, Int32Slot right) => !left.Equals(right);
}
