using System.Buffers.Binary;
using System.Diagnostics;
using Messaging.Protocol;

namespace Messaging.Records;

/// <summary>
/// The magic-2 wire encoding of one record and of a batch header, shared by every writer of record batches
/// (<see cref="RecordBatchBuilder"/> and the producer's batches): one place that knows the layout.
/// </summary>
internal static class RecordEncoder
{
    /// <summary>An upper bound of the bytes one record takes in a batch (its length prefix included), without encoding it.</summary>
    /// <param name="keyLength">The key length (-1 or 0 for a null key).</param>
    /// <param name="valueLength">The value length (-1 or 0 for a null value).</param>
    /// <param name="headers">The headers.</param>
    public static long MaxRecordSize(int keyLength, int valueLength, ReadOnlySpan<RecordHeader> headers)
    {
        long size = Varint.MaxVarintBytes + 1 + Varint.MaxVarlongBytes + Varint.MaxVarintBytes +
                    Varint.MaxVarintBytes + Math.Max(keyLength, 0) + Varint.MaxVarintBytes + Math.Max(valueLength, 0) +
                    Varint.MaxVarintBytes;
        foreach (ref readonly var header in headers)
        {
            size += (2 * Varint.MaxVarintBytes) + header.KeyByteCount + header.Value.Length;
        }

        return size;
    }

    /// <summary>The exact size of the record's body (what its length prefix says), or -1 when it would exceed 2 GiB.</summary>
    /// <param name="timestampDelta">Its timestamp minus the batch's base timestamp.</param>
    /// <param name="offsetDelta">Its offset minus the batch's base offset (its index in the batch).</param>
    /// <param name="keyLength">The key length, -1 for a null key.</param>
    /// <param name="valueLength">The value length, -1 for a null value.</param>
    /// <param name="headers">The headers.</param>
    public static int BodySize(long timestampDelta, int offsetDelta, int keyLength, int valueLength, ReadOnlySpan<RecordHeader> headers)
    {
        long size = 1 + Varint.SizeOfVarlong(timestampDelta) + Varint.SizeOfVarint(offsetDelta) +
                    Varint.SizeOfVarint(keyLength) + Math.Max(keyLength, 0) +
                    Varint.SizeOfVarint(valueLength) + Math.Max(valueLength, 0) +
                    Varint.SizeOfVarint(headers.Length);
        foreach (ref readonly var header in headers)
        {
            var k = header.KeyByteCount;
            var v = header.IsValueNull ? -1 : header.Value.Length;
            size += Varint.SizeOfVarint(k) + k + Varint.SizeOfVarint(v) + Math.Max(v, 0);
        }

        return size > int.MaxValue - Varint.MaxVarintBytes ? -1 : (int)size;
    }

    /// <summary>The record's total size in a batch: its body and the varint length prefix before it.</summary>
    public static int TotalSize(int body) => Varint.SizeOfVarint(body) + body;

    /// <summary>
    /// Writes one record (length prefix, attributes, timestamp and offset deltas, key, value, headers) into
    /// <paramref name="destination"/>, which must hold exactly <see cref="TotalSize"/> of <paramref name="body"/> bytes.
    /// </summary>
    public static void WriteRecord(Span<byte> destination, int body, long timestampDelta, int offsetDelta,
        ReadOnlySpan<byte> key, int keyLength, ReadOnlySpan<byte> value, int valueLength, ReadOnlySpan<RecordHeader> headers)
    {
        var p = Varint.WriteVarint(destination, body);
        destination[p++] = 0; // record attributes: unused
        p += Varint.WriteVarlong(destination.Slice(p), timestampDelta);
        p += Varint.WriteVarint(destination.Slice(p), offsetDelta);
        p += Varint.WriteVarint(destination.Slice(p), keyLength);
        if (keyLength > 0)
        {
            key.CopyTo(destination.Slice(p));
            p += keyLength;
        }

        p += Varint.WriteVarint(destination.Slice(p), valueLength);
        if (valueLength > 0)
        {
            value.CopyTo(destination.Slice(p));
            p += valueLength;
        }

        p += Varint.WriteVarint(destination.Slice(p), headers.Length);
        foreach (ref readonly var header in headers)
        {
            p += Varint.WriteVarint(destination.Slice(p), header.KeyByteCount);
            p += header.WriteKey(destination.Slice(p));
            if (header.IsValueNull)
            {
                p += Varint.WriteVarint(destination.Slice(p), -1);
            }
            else
            {
                var v = header.Value.Span;
                p += Varint.WriteVarint(destination.Slice(p), v.Length);
                v.CopyTo(destination.Slice(p));
                p += v.Length;
            }
        }

        Debug.Assert(p == destination.Length, "The record's size was computed wrongly.");
    }

    /// <summary>
    /// Writes the 61-byte batch header at the start of <paramref name="batch"/> (the whole batch, records included)
    /// and the CRC-32C over attributes through the end, as the spec lays it out.
    /// </summary>
    public static void WriteBatchHeader(Span<byte> batch, long baseOffset, int partitionLeaderEpoch, short attributes, int recordCount,
        long baseTimestamp, long maxTimestamp, long producerId, short producerEpoch, int baseSequence)
    {
        BinaryPrimitives.WriteInt64BigEndian(batch, baseOffset);
        BinaryPrimitives.WriteInt32BigEndian(batch.Slice(RecordBatchLayout.BatchLength), batch.Length - RecordBatchLayout.LogOverhead);
        BinaryPrimitives.WriteInt32BigEndian(batch.Slice(RecordBatchLayout.PartitionLeaderEpoch), partitionLeaderEpoch);
        batch[RecordBatchLayout.Magic] = 2;
        BinaryPrimitives.WriteInt16BigEndian(batch.Slice(RecordBatchLayout.Attributes), attributes);
        BinaryPrimitives.WriteInt32BigEndian(batch.Slice(RecordBatchLayout.LastOffsetDelta), recordCount - 1);
        BinaryPrimitives.WriteInt64BigEndian(batch.Slice(RecordBatchLayout.BaseTimestamp), baseTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(batch.Slice(RecordBatchLayout.MaxTimestamp), maxTimestamp);
        BinaryPrimitives.WriteInt64BigEndian(batch.Slice(RecordBatchLayout.ProducerId), producerId);
        BinaryPrimitives.WriteInt16BigEndian(batch.Slice(RecordBatchLayout.ProducerEpoch), producerEpoch);
        BinaryPrimitives.WriteInt32BigEndian(batch.Slice(RecordBatchLayout.BaseSequence), baseSequence);
        BinaryPrimitives.WriteInt32BigEndian(batch.Slice(RecordBatchLayout.RecordCount), recordCount);
        BinaryPrimitives.WriteUInt32BigEndian(batch.Slice(RecordBatchLayout.Crc), Crc32C.Compute(batch.Slice(RecordBatchLayout.Attributes)));
    }
}
