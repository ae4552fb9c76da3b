using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Messaging.Records;

/// <summary>
/// Decodes the records of one <see cref="RecordBatch"/>, one at a time (<see cref="TryRead"/>) or into a caller-owned span
/// (<see cref="Read"/>). Allocation-free: each <see cref="RecordView"/> is a value whose key, value and headers are slices
/// of the batch (or decompressed) bytes.
/// </summary>
/// <remarks>
/// Every length is checked against the bytes left in its record before it is used; a malformed record, fewer records
/// than the batch declares, or bytes left over after the last record throw <see cref="KafkaProtocolException"/>.
/// For compressed batches the exception's offset is relative to the decompressed records (message name
/// <c>RecordBatch(decompressed)</c>).
/// </remarks>
[StructLayout(LayoutKind.Auto)]
internal struct RecordReader
{
    private const byte ModeV2 = 0;
    private const byte ModeLegacySingle = 1;
    private const byte ModeLegacyInner = 2;

    private readonly ReadOnlyMemory<byte> _data;
    private readonly long _baseOffset;
    private readonly int _lastOffsetDelta;
    private readonly long _baseTimestamp;
    private readonly long _logAppendTime;
    private readonly string _errorName;
    private readonly int _errorBase;
    private readonly byte _mode;
    private readonly byte _legacyMagic;
    private readonly bool _verifyCrc;
    private int _position;
    private int _remaining;

    internal RecordReader(ReadOnlyMemory<byte> records, int count, long baseOffset, int lastOffsetDelta, long baseTimestamp, long logAppendTime, string errorName, int errorBase)
        : this(records, count, baseOffset, lastOffsetDelta, baseTimestamp, logAppendTime, errorName, errorBase, ModeV2, 2, verifyCrc: false)
    {
        if (count == 0 && !records.IsEmpty)
        {
            ThrowTrailing(errorName, errorBase, 0);
        }
    }

    private RecordReader(ReadOnlyMemory<byte> data, int count, long baseOffset, int lastOffsetDelta, long baseTimestamp, long logAppendTime, string errorName, int errorBase, byte mode, byte legacyMagic, bool verifyCrc)
    {
        _data = data;
        _remaining = count;
        _baseOffset = baseOffset;
        _lastOffsetDelta = lastOffsetDelta;
        _baseTimestamp = baseTimestamp;
        _logAppendTime = logAppendTime;
        _errorName = errorName;
        _errorBase = errorBase;
        _mode = mode;
        _legacyMagic = legacyMagic;
        _verifyCrc = verifyCrc;
        _position = 0;
    }

    /// <summary>The number of records not yet read.</summary>
    public readonly int RemainingCount => _remaining;

    /// <summary>Decodes the next record.</summary>
    /// <param name="record">The record, when one was read.</param>
    /// <returns>False when every record has been read.</returns>
    /// <exception cref="KafkaProtocolException">The record is malformed.</exception>
    public bool TryRead(out RecordView record)
    {
        if (_remaining <= 0)
        {
            record = default;
            return false;
        }

        ReadOnlySpan<byte> span = _data.Span;
        ReadOne(span, out record);
        return true;
    }

    /// <summary>Decodes up to <c>destination.Length</c> records into <paramref name="destination"/>.</summary>
    /// <param name="destination">Where the records go; reuse it across batches to decode without allocating.</param>
    /// <returns>The number of records written (0 when none remain).</returns>
    /// <exception cref="KafkaProtocolException">A record is malformed.</exception>
    public int Read(Span<RecordView> destination)
    {
        int n = Math.Min(destination.Length, _remaining);
        if (n <= 0)
        {
            return 0;
        }

        ReadOnlySpan<byte> span = _data.Span;
        for (int i = 0; i < n; i++)
        {
            ReadOne(span, out destination[i]);
        }

        return n;
    }

    internal static RecordReader ForLegacyMessage(ReadOnlyMemory<byte> entry, LegacyMessage message) =>
        new(entry, 1, 0, 0, 0, long.MinValue, RecordErrors.Legacy, 0, ModeLegacySingle, message.Magic, verifyCrc: false);

    internal static RecordReader ForLegacyWrapper(ReadOnlyMemory<byte> inner, LegacyMessage wrapper, TimestampType timestampType, bool verifyCrc)
    {
        // Walk the inner message set once for its framing, count and last offset: magic-1 inner offsets are relative,
        // and the wrapper's offset is the absolute offset of the last inner message.
        ReadOnlySpan<byte> span = inner.Span;
        int position = 0;
        int count = 0;
        long lastOffset = 0;
        while (position < span.Length)
        {
            int next = LegacyMessageSet.CheckInnerEntry(span, position, wrapper.Magic, RecordErrors.LegacyInner);
            lastOffset = BinaryPrimitives.ReadInt64BigEndian(span.Slice(position));
            position = next;
            count++;
        }

        if (count == 0)
        {
            RecordErrors.Throw(RecordErrors.LegacyInner, "MessageSet", 0, "a compressed wrapper message holds no inner messages");
        }

        long baseOffset = 0;
        long logAppendTime = long.MinValue;
        if (wrapper.Magic == 1)
        {
            if (wrapper.Offset < lastOffset || lastOffset < 0)
            {
                RecordErrors.Throw(RecordErrors.LegacyInner, "Offset", 0,
                    "the last relative inner offset " + RecordErrors.Str(lastOffset) + " is negative or above the wrapper offset " + RecordErrors.Str(wrapper.Offset));
            }

            baseOffset = wrapper.Offset - lastOffset;
            if (timestampType == TimestampType.LogAppendTime)
            {
                logAppendTime = wrapper.Timestamp;
            }
        }

        return new RecordReader(inner, count, baseOffset, 0, 0, logAppendTime, RecordErrors.LegacyInner, 0, ModeLegacyInner, wrapper.Magic, verifyCrc);
    }

    private void ReadOne(ReadOnlySpan<byte> span, out RecordView record)
    {
        if (_mode == ModeV2)
        {
            ReadV2(span, out record);
        }
        else
        {
            ReadLegacy(span, out record);
        }

        if (--_remaining == 0 && _position != span.Length)
        {
            ThrowTrailing(_errorName, _errorBase, _position);
        }
    }

    private void ReadV2(ReadOnlySpan<byte> span, out RecordView record)
    {
        int start = _position;
        int p = start;
        if (!RecordVarint.TryRead(span, ref p, span.Length, out int length))
        {
            Fail(start, "Length", start == span.Length ? "the batch declares more records than it holds" : null);
        }

        if ((uint)length > (uint)(span.Length - p))
        {
            RecordErrors.ThrowInvalidLength(_errorName, "Length", _errorBase + start, length, span.Length - p);
        }

        int end = p + length;
        if (p == end)
        {
            RecordErrors.ThrowTruncated(_errorName, "Attributes", _errorBase + p);
        }

        byte attributes = span[p++];
        if (!RecordVarint.TryReadLong(span, ref p, end, out long timestampDelta))
        {
            Fail(p, "TimestampDelta", null);
        }

        int offsetAt = p;
        if (!RecordVarint.TryRead(span, ref p, end, out int offsetDelta))
        {
            Fail(offsetAt, "OffsetDelta", null);
        }

        if ((uint)offsetDelta > (uint)_lastOffsetDelta)
        {
            // Outside [base offset, last offset]: the batch's own range, which the reader checked fits a long.
            ThrowOffsetOutsideBatch(offsetAt, offsetDelta);
        }

        ReadOnlyMemory<byte> key = default;
        bool keyNull = false;
        int at = p;
        if (!RecordVarint.TryRead(span, ref p, end, out int keyLength))
        {
            Fail(at, "KeyLength", null);
        }

        if (keyLength >= 0)
        {
            if (keyLength > end - p)
            {
                RecordErrors.ThrowInvalidLength(_errorName, "KeyLength", _errorBase + at, keyLength, end - p);
            }

            key = _data.Slice(p, keyLength);
            p += keyLength;
        }
        else if (keyLength == -1)
        {
            keyNull = true;
        }
        else
        {
            RecordErrors.ThrowInvalidLength(_errorName, "KeyLength", _errorBase + at, keyLength, end - p);
        }

        ReadOnlyMemory<byte> value = default;
        bool valueNull = false;
        at = p;
        if (!RecordVarint.TryRead(span, ref p, end, out int valueLength))
        {
            Fail(at, "ValueLength", null);
        }

        if (valueLength >= 0)
        {
            if (valueLength > end - p)
            {
                RecordErrors.ThrowInvalidLength(_errorName, "ValueLength", _errorBase + at, valueLength, end - p);
            }

            value = _data.Slice(p, valueLength);
            p += valueLength;
        }
        else if (valueLength == -1)
        {
            valueNull = true;
        }
        else
        {
            RecordErrors.ThrowInvalidLength(_errorName, "ValueLength", _errorBase + at, valueLength, end - p);
        }

        at = p;
        if (!RecordVarint.TryRead(span, ref p, end, out int headerCount))
        {
            Fail(at, "HeaderCount", null);
        }

        RecordHeaders headers = default;
        if (headerCount != 0)
        {
            // Every header takes at least two bytes (two one-byte lengths).
            if (headerCount < 0 || headerCount > (end - p) / 2)
            {
                RecordErrors.Throw(_errorName, "HeaderCount", _errorBase + at,
                    "header count " + RecordErrors.Str(headerCount) + " is negative or more than the record can hold");
            }

            int headersStart = p;
            ValidateHeaders(span, ref p, end, headerCount);
            headers = new RecordHeaders(_data.Slice(headersStart, p - headersStart), headerCount);
        }

        if (p != end)
        {
            RecordErrors.Throw(_errorName, "Length", _errorBase + start,
                "record length " + RecordErrors.Str(length) + " does not match its fields (" + RecordErrors.Str(end - p) + " bytes left over)");
        }

        _position = end;
        long timestamp = _logAppendTime != long.MinValue ? _logAppendTime : _baseTimestamp + timestampDelta;
        record = new RecordView(_baseOffset + offsetDelta, timestamp, key, value, headers, attributes, keyNull, valueNull);
    }

    private readonly void ValidateHeaders(ReadOnlySpan<byte> span, ref int p, int end, int count)
    {
        for (int i = 0; i < count; i++)
        {
            int at = p;
            if (!RecordVarint.TryRead(span, ref p, end, out int keyLength))
            {
                Fail(at, "HeaderKeyLength", null);
            }

            if (keyLength < 0 || keyLength > end - p)
            {
                RecordErrors.ThrowInvalidLength(_errorName, "HeaderKeyLength", _errorBase + at, keyLength, end - p);
            }

            p += keyLength;
            at = p;
            if (!RecordVarint.TryRead(span, ref p, end, out int valueLength))
            {
                Fail(at, "HeaderValueLength", null);
            }

            if (valueLength < -1 || valueLength > end - p)
            {
                RecordErrors.ThrowInvalidLength(_errorName, "HeaderValueLength", _errorBase + at, valueLength, end - p);
            }

            if (valueLength > 0)
            {
                p += valueLength;
            }
        }
    }

    private void ReadLegacy(ReadOnlySpan<byte> span, out RecordView record)
    {
        int start = _position;
        LegacyMessage message;
        if (_mode == ModeLegacySingle)
        {
            message = LegacyMessageSet.Parse(span, 0, _errorName, _errorBase, verifyCrc: false);
            _position = span.Length;
        }
        else
        {
            _position = LegacyMessageSet.CheckInnerEntry(span, start, _legacyMagic, _errorName);
            message = LegacyMessageSet.Parse(span, start, _errorName, _errorBase, _verifyCrc);
            if (message.CompressionBits != 0)
            {
                RecordErrors.Throw(_errorName, "Attributes", _errorBase + start + RecordBatchLayout.LegacyAttributes,
                    "an inner message of a compressed message set is itself compressed");
            }
        }

        long offset = message.Offset;
        if (_mode == ModeLegacyInner && _legacyMagic == 1)
        {
            // Both are at least 0 and below long.MaxValue (checked when parsed); their sum must be too.
            if (message.Offset > long.MaxValue - 1 - _baseOffset)
            {
                RecordErrors.Throw(_errorName, "Offset", _errorBase + start, "relative offset " + RecordErrors.Str(message.Offset) +
                    " from base offset " + RecordErrors.Str(_baseOffset) + " leaves no offset after the message");
            }

            offset = _baseOffset + message.Offset;
        }

        long timestamp = message.Magic == 0
            ? RecordBatchLayout.NoTimestamp
            : _logAppendTime != long.MinValue ? _logAppendTime : message.Timestamp;
        ReadOnlyMemory<byte> key = message.KeyLength > 0 ? _data.Slice(message.KeyStart, message.KeyLength) : default;
        ReadOnlyMemory<byte> value = message.ValueLength > 0 ? _data.Slice(message.ValueStart, message.ValueLength) : default;
        record = new RecordView(offset, timestamp, key, value, default, message.Attributes, message.KeyLength < 0, message.ValueLength < 0);
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private readonly void Fail(int position, string field, string? reason)
    {
        if (reason is null)
        {
            RecordErrors.ThrowInvalidVarint(_errorName, field, _errorBase + position);
        }

        RecordErrors.Throw(_errorName, field, _errorBase + position, reason);
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private readonly void ThrowOffsetOutsideBatch(int position, int offsetDelta) =>
        RecordErrors.Throw(_errorName, "OffsetDelta", _errorBase + position,
            "offset delta " + RecordErrors.Str(offsetDelta) + " is outside the batch's 0.." + RecordErrors.Str(_lastOffsetDelta));

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowTrailing(string errorName, int errorBase, int position) =>
        RecordErrors.Throw(errorName, "Records", errorBase + position, "bytes are left over after the last record the batch declares");
}
