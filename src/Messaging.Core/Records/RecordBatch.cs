using System.Runtime.InteropServices;
using Messaging.Compression;

namespace Messaging.Records;

/// <summary>
/// One log entry read by <see cref="RecordBatchReader"/>: a record batch (magic 2) or a legacy message (magic 0/1, either
/// a plain message or a compressed wrapper holding an inner message set). Its header fields are parsed; its records are
/// decoded on demand by <see cref="GetRecords"/>.
/// </summary>
/// <remarks>
/// For legacy entries the batch-only fields take neutral values: <see cref="PartitionLeaderEpoch"/>,
/// <see cref="ProducerId"/>, <see cref="ProducerEpoch"/> and <see cref="BaseSequence"/> are -1, <see cref="BaseOffset"/>
/// and <see cref="LastOffset"/> are the message's offset (for a wrapper, the offset of its last inner message),
/// <see cref="BaseTimestamp"/> and <see cref="MaxTimestamp"/> its timestamp (-1 for magic 0), and
/// <see cref="RecordCount"/> is 1 for a plain message and -1 (unknown until decompressed) for a wrapper.
/// </remarks>
[StructLayout(LayoutKind.Auto)]
internal readonly struct RecordBatch
{
    private readonly RecordDecoderOptions _options;

    internal RecordBatch(
        ReadOnlyMemory<byte> memory,
        int position,
        RecordDecoderOptions options,
        long baseOffset,
        int partitionLeaderEpoch,
        byte magic,
        uint crc,
        short attributes,
        int lastOffsetDelta,
        long baseTimestamp,
        long maxTimestamp,
        long producerId,
        short producerEpoch,
        int baseSequence,
        int recordCount)
    {
        Memory = memory;
        Position = position;
        _options = options;
        BaseOffset = baseOffset;
        PartitionLeaderEpoch = partitionLeaderEpoch;
        Magic = magic;
        Crc = crc;
        Attributes = attributes;
        LastOffsetDelta = lastOffsetDelta;
        BaseTimestamp = baseTimestamp;
        MaxTimestamp = maxTimestamp;
        ProducerId = producerId;
        ProducerEpoch = producerEpoch;
        BaseSequence = baseSequence;
        RecordCount = recordCount;
    }

    /// <summary>The whole entry (baseOffset through the last record), as it appeared in the buffer.</summary>
    public ReadOnlyMemory<byte> Memory { get; }

    /// <summary>The entry's byte offset within the buffer given to the reader.</summary>
    public int Position { get; }

    /// <summary>The offset of the first record (for legacy entries, see the remarks).</summary>
    public long BaseOffset { get; }

    /// <summary>The batchLength field: the entry's size minus 12.</summary>
    public int BatchLength => Memory.Length - RecordBatchLayout.LogOverhead;

    /// <summary>The partition leader epoch the broker stamped on the batch (-1 for legacy entries).</summary>
    public int PartitionLeaderEpoch { get; }

    /// <summary>The format: 2 for record batches, 0 or 1 for legacy messages.</summary>
    public byte Magic { get; }

    /// <summary>The stored checksum: CRC-32C for magic 2, CRC-32 for legacy messages.</summary>
    public uint Crc { get; }

    /// <summary>The raw attributes (int16 for magic 2, the int8 attributes for legacy messages).</summary>
    public short Attributes { get; }

    /// <summary>The compression codec (attribute bits 0-2).</summary>
    public CompressionType Compression => (CompressionType)(Attributes & RecordBatchLayout.CompressionMask);

    /// <summary>The timestamp type (attribute bit 3); <see cref="TimestampType.NotAvailable"/> for magic 0.</summary>
    public TimestampType TimestampType => Magic == 0
        ? TimestampType.NotAvailable
        : (Attributes & RecordBatchLayout.TimestampTypeBit) != 0 ? TimestampType.LogAppendTime : TimestampType.CreateTime;

    /// <summary>True for a transactional batch (attribute bit 4).</summary>
    public bool IsTransactional => Magic == 2 && (Attributes & RecordBatchLayout.TransactionalBit) != 0;

    /// <summary>True for a control batch (attribute bit 5): its record is a transaction marker, see <see cref="ControlRecord"/>.</summary>
    public bool IsControl => Magic == 2 && (Attributes & RecordBatchLayout.ControlBit) != 0;

    /// <summary>True when the base timestamp is a compaction delete horizon (attribute bit 6).</summary>
    public bool HasDeleteHorizon => Magic == 2 && (Attributes & RecordBatchLayout.DeleteHorizonBit) != 0;

    /// <summary>The offset of the last record relative to <see cref="BaseOffset"/>.</summary>
    public int LastOffsetDelta { get; }

    /// <summary>The offset of the last record (kept even when compaction removed it: the next fetch starts after it).</summary>
    public long LastOffset => BaseOffset + LastOffsetDelta;

    /// <summary>The timestamp of the first record (or the delete horizon, see <see cref="HasDeleteHorizon"/>).</summary>
    public long BaseTimestamp { get; }

    /// <summary>The largest timestamp in the batch (the log-append time under <see cref="TimestampType.LogAppendTime"/>).</summary>
    public long MaxTimestamp { get; }

    /// <summary>The producer ID (-1 when not idempotent).</summary>
    public long ProducerId { get; }

    /// <summary>The producer epoch (-1 when not idempotent).</summary>
    public short ProducerEpoch { get; }

    /// <summary>The sequence number of the first record (-1 when not idempotent).</summary>
    public int BaseSequence { get; }

    /// <summary>The number of records (see the remarks for legacy entries).</summary>
    public int RecordCount { get; }

    /// <summary>
    /// Decodes the batch's records. Uncompressed records are sliced from <see cref="Memory"/> (zero copy); compressed
    /// ones are first decompressed, appended to <paramref name="decompressionBuffer"/>, and sliced from there.
    /// </summary>
    /// <param name="decompressionBuffer">Where compressed records are decompressed to; required for compressed batches.
    /// Records of a compressed batch are valid as long as the buffer's contents are.</param>
    /// <returns>A reader over the records.</returns>
    /// <exception cref="ArgumentNullException">The batch is compressed and <paramref name="decompressionBuffer"/> is null.</exception>
    /// <exception cref="KafkaProtocolException">The compressed data is malformed or exceeds
    /// <see cref="RecordDecoderOptions.MaxDecompressedBatchBytes"/>, or the record count does not fit the decompressed size.</exception>
    public RecordReader GetRecords(IDecompressionBuffer? decompressionBuffer = null)
    {
        if (Compression != CompressionType.None)
        {
            ArgumentNullException.ThrowIfNull(decompressionBuffer);
        }

        if (Magic < 2)
        {
            return GetLegacyRecords(decompressionBuffer);
        }

        long logAppendTime = TimestampType == TimestampType.LogAppendTime ? MaxTimestamp : long.MinValue;
        if (Compression == CompressionType.None)
        {
            return new RecordReader(
                Memory.Slice(RecordBatchLayout.HeaderSize), RecordCount, BaseOffset, LastOffsetDelta, BaseTimestamp, logAppendTime,
                RecordErrors.Batch, Position + RecordBatchLayout.HeaderSize);
        }

        ReadOnlyMemory<byte> records = Decompress(Memory.Slice(RecordBatchLayout.HeaderSize).Span, Compression, decompressionBuffer!,
            Position + RecordBatchLayout.HeaderSize, ignoreLz4HeaderChecksum: false);
        if (RecordCount > records.Length / RecordBatchLayout.MinRecordSize)
        {
            RecordErrors.Throw(RecordErrors.Batch, "RecordCount", Position + RecordBatchLayout.RecordCount,
                "record count " + RecordErrors.Str(RecordCount) + " is more than " + RecordErrors.Str(records.Length) + " decompressed bytes can hold");
        }

        return new RecordReader(records, RecordCount, BaseOffset, LastOffsetDelta, BaseTimestamp, logAppendTime, RecordErrors.DecompressedRecords, 0);
    }

    private RecordReader GetLegacyRecords(IDecompressionBuffer? decompressionBuffer)
    {
        ReadOnlySpan<byte> span = Memory.Span;
        LegacyMessage message = LegacyMessageSet.Parse(span, 0, RecordErrors.Legacy, Position, verifyCrc: false);
        if (Compression == CompressionType.None)
        {
            return RecordReader.ForLegacyMessage(Memory, message);
        }

        if (message.ValueLength < 0)
        {
            RecordErrors.Throw(RecordErrors.Legacy, "Value", Position + message.ValueStart - 4, "a compressed wrapper message has a null value");
        }

        ReadOnlyMemory<byte> inner = Decompress(span.Slice(message.ValueStart, message.ValueLength), Compression, decompressionBuffer!,
            Position + message.ValueStart, ignoreLz4HeaderChecksum: Magic == 0);
        return RecordReader.ForLegacyWrapper(inner, message, TimestampType, _options.VerifyCrc);
    }

    private ReadOnlyMemory<byte> Decompress(ReadOnlySpan<byte> compressed, CompressionType compression, IDecompressionBuffer buffer, int sourceOffset, bool ignoreLz4HeaderChecksum)
    {
        int start = buffer.WrittenMemory.Length;
        int limit = _options.MaxDecompressedBatchBytes;
        int written = compression == CompressionType.Lz4
            ? Lz4Codec.Decompress(compressed, buffer, limit, sourceOffset, ignoreLz4HeaderChecksum)
            : CompressionCodecs.Get(compression).Decompress(compressed, buffer, limit, sourceOffset);
        return buffer.WrittenMemory.Slice(start, written);
    }
}
