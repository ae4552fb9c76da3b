using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Messaging.Protocol;

namespace Messaging.Records;

/// <summary>
/// Reads the batches of a Fetch response's <c>records</c> field (or any concatenation of log entries): record batches
/// (magic 2) and legacy messages (magic 0 and 1), in order. Allocation-free; the batches and their records point into
/// the given memory.
/// </summary>
/// <remarks>
/// <para>A Fetch response may end in a partial batch (the broker cuts at the byte limit): <see cref="TryReadNext"/> then
/// returns false and <see cref="HasPartialBatch"/> is true; this is not an error.</para>
/// <para>Everything else malformed throws <see cref="KafkaProtocolException"/> naming the field and its byte offset
/// within the buffer: a batch length below the minimum, an unknown magic, a CRC mismatch (when
/// <see cref="RecordDecoderOptions.VerifyCrc"/>), an unknown compression type, a record count the batch cannot hold.</para>
/// <para>Usage: <c>while (reader.TryReadNext(out var batch)) { var records = batch.GetRecords(buffer); while
/// (records.TryRead(out var record)) { … } }</c>.</para>
/// </remarks>
[StructLayout(LayoutKind.Auto)]
internal struct RecordBatchReader
{
    private readonly ReadOnlyMemory<byte> _data;
    private readonly RecordDecoderOptions _options;
    private int _position;

    /// <summary>Creates a reader over <paramref name="records"/>.</summary>
    /// <param name="records">The concatenated log entries, e.g. a Fetch response partition's records.</param>
    /// <param name="options">Decoding options; <see cref="RecordDecoderOptions.Default"/> when null.</param>
    public RecordBatchReader(ReadOnlyMemory<byte> records, RecordDecoderOptions? options = null)
    {
        _data = records;
        _options = options ?? RecordDecoderOptions.Default;
        _position = 0;
    }

    /// <summary>The offset of the next unread byte.</summary>
    public readonly int Position => _position;

    /// <summary>The number of bytes not yet read (after the last call returned false: the partial batch, if any).</summary>
    public readonly int RemainingBytes => _data.Length - _position;

    /// <summary>True when the bytes after the last complete batch are the start of a batch that was cut off.</summary>
    public readonly bool HasPartialBatch => _position < _data.Length && !HasCompleteEntry(_data.Span.Slice(_position));

    /// <summary>Reads the next complete batch.</summary>
    /// <param name="batch">The batch, when one was read.</param>
    /// <returns>False at the end of the data or when only a partial batch remains.</returns>
    /// <exception cref="KafkaProtocolException">The batch is malformed.</exception>
    public bool TryReadNext(out RecordBatch batch)
    {
        ReadOnlySpan<byte> all = _data.Span;
        int start = _position;
        int remaining = all.Length - start;
        if (remaining < RecordBatchLayout.LogOverhead)
        {
            batch = default;
            return false;
        }

        ReadOnlySpan<byte> span = all.Slice(start);
        int length = BinaryPrimitives.ReadInt32BigEndian(span.Slice(RecordBatchLayout.BatchLength));
        if (length < RecordBatchLayout.LegacyMinSizeV0)
        {
            RecordErrors.ThrowInvalidLength(RecordErrors.Batch, "BatchLength", start + RecordBatchLayout.BatchLength, length, remaining - RecordBatchLayout.LogOverhead);
        }

        if (length > remaining - RecordBatchLayout.LogOverhead)
        {
            batch = default;
            return false; // partial batch at the end of a fetch response
        }

        int total = RecordBatchLayout.LogOverhead + length;
        byte magic = span[RecordBatchLayout.Magic];
        if (magic == 2)
        {
            batch = ReadV2(span.Slice(0, total), start);
        }
        else if (magic <= 1)
        {
            batch = ReadLegacy(span.Slice(0, total), start, magic);
        }
        else
        {
            RecordErrors.Throw(RecordErrors.Batch, "Magic", start + RecordBatchLayout.Magic, "unsupported magic " + RecordErrors.Str(magic));
            batch = default;
        }

        _position = start + total;
        return true;
    }

    private readonly RecordBatch ReadV2(ReadOnlySpan<byte> span, int start)
    {
        int length = span.Length - RecordBatchLayout.LogOverhead;
        if (length < RecordBatchLayout.MinBatchLength)
        {
            RecordErrors.ThrowInvalidLength(RecordErrors.Batch, "BatchLength", start + RecordBatchLayout.BatchLength, length, RecordBatchLayout.MinBatchLength);
        }

        uint crc = BinaryPrimitives.ReadUInt32BigEndian(span.Slice(RecordBatchLayout.Crc));
        if (_options.VerifyCrc)
        {
            uint actual = Crc32C.Compute(span.Slice(RecordBatchLayout.Attributes));
            if (actual != crc)
            {
                RecordErrors.ThrowCrcMismatch(RecordErrors.Batch, start + RecordBatchLayout.Crc, crc, actual);
            }
        }

        short attributes = BinaryPrimitives.ReadInt16BigEndian(span.Slice(RecordBatchLayout.Attributes));
        var compression = (CompressionType)(attributes & RecordBatchLayout.CompressionMask);
        if (compression > CompressionType.Zstd)
        {
            RecordErrors.Throw(RecordErrors.Batch, "Attributes", start + RecordBatchLayout.Attributes,
                "unknown compression type " + RecordErrors.Str((int)compression));
        }

        int count = BinaryPrimitives.ReadInt32BigEndian(span.Slice(RecordBatchLayout.RecordCount));
        long capacity = compression == CompressionType.None
            ? span.Length - RecordBatchLayout.HeaderSize
            : _options.MaxDecompressedBatchBytes;
        if (count < 0 || count > capacity / RecordBatchLayout.MinRecordSize)
        {
            RecordErrors.Throw(RecordErrors.Batch, "RecordCount", start + RecordBatchLayout.RecordCount,
                "record count " + RecordErrors.Str(count) + " is negative or more than the batch can hold");
        }

        long baseOffset = BinaryPrimitives.ReadInt64BigEndian(span);
        int lastOffsetDelta = BinaryPrimitives.ReadInt32BigEndian(span.Slice(RecordBatchLayout.LastOffsetDelta));
        if (lastOffsetDelta < 0 || baseOffset > long.MaxValue - 1 - lastOffsetDelta)
        {
            // The offset after the batch (where a consumer goes next) must be a larger long: no wrap-around.
            RecordErrors.Throw(RecordErrors.Batch, "LastOffsetDelta", start + RecordBatchLayout.LastOffsetDelta,
                "last offset delta " + RecordErrors.Str(lastOffsetDelta) + " from base offset " + RecordErrors.Str(baseOffset) +
                " is negative or leaves no offset after the batch");
        }

        return new RecordBatch(
            _data.Slice(start, span.Length),
            start,
            _options,
            baseOffset: baseOffset,
            partitionLeaderEpoch: BinaryPrimitives.ReadInt32BigEndian(span.Slice(RecordBatchLayout.PartitionLeaderEpoch)),
            magic: 2,
            crc: crc,
            attributes: attributes,
            lastOffsetDelta: lastOffsetDelta,
            baseTimestamp: BinaryPrimitives.ReadInt64BigEndian(span.Slice(RecordBatchLayout.BaseTimestamp)),
            maxTimestamp: BinaryPrimitives.ReadInt64BigEndian(span.Slice(RecordBatchLayout.MaxTimestamp)),
            producerId: BinaryPrimitives.ReadInt64BigEndian(span.Slice(RecordBatchLayout.ProducerId)),
            producerEpoch: BinaryPrimitives.ReadInt16BigEndian(span.Slice(RecordBatchLayout.ProducerEpoch)),
            baseSequence: BinaryPrimitives.ReadInt32BigEndian(span.Slice(RecordBatchLayout.BaseSequence)),
            recordCount: count);
    }

    private readonly RecordBatch ReadLegacy(ReadOnlySpan<byte> span, int start, byte magic)
    {
        int size = span.Length - RecordBatchLayout.LogOverhead;
        if (size < LegacyMessageSet.MinSize(magic))
        {
            RecordErrors.ThrowInvalidLength(RecordErrors.Legacy, "MessageSize", start + RecordBatchLayout.BatchLength, size, LegacyMessageSet.MinSize(magic));
        }

        LegacyMessage message = LegacyMessageSet.Parse(span, 0, RecordErrors.Legacy, start, _options.VerifyCrc);
        var compression = (CompressionType)message.CompressionBits;
        return new RecordBatch(
            _data.Slice(start, span.Length),
            start,
            _options,
            baseOffset: message.Offset,
            partitionLeaderEpoch: -1,
            magic: magic,
            crc: message.Crc,
            attributes: message.Attributes,
            lastOffsetDelta: 0,
            baseTimestamp: message.Timestamp,
            maxTimestamp: message.Timestamp,
            producerId: -1,
            producerEpoch: -1,
            baseSequence: -1,
            recordCount: compression == CompressionType.None ? 1 : -1);
    }

    private static bool HasCompleteEntry(ReadOnlySpan<byte> span)
    {
        if (span.Length < RecordBatchLayout.LogOverhead)
        {
            return false;
        }

        int length = BinaryPrimitives.ReadInt32BigEndian(span.Slice(RecordBatchLayout.BatchLength));
        return length >= 0 && length <= span.Length - RecordBatchLayout.LogOverhead;
    }
}
