namespace Messaging.Records;

/// <summary>Field offsets and sizes of the record batch (magic 2) header and of legacy (magic 0/1) messages.</summary>
internal static class RecordBatchLayout
{
    // Record batch, magic 2.
    public const int BaseOffset = 0;
    public const int BatchLength = 8;
    public const int PartitionLeaderEpoch = 12;
    public const int Magic = 16;
    public const int Crc = 17;
    public const int Attributes = 21;
    public const int LastOffsetDelta = 23;
    public const int BaseTimestamp = 27;
    public const int MaxTimestamp = 35;
    public const int ProducerId = 43;
    public const int ProducerEpoch = 51;
    public const int BaseSequence = 53;
    public const int RecordCount = 57;
    public const int HeaderSize = 61;

    /// <summary>baseOffset + batchLength: the bytes not counted by batchLength.</summary>
    public const int LogOverhead = 12;

    /// <summary>The smallest batchLength of a magic-2 batch (a header with no records).</summary>
    public const int MinBatchLength = HeaderSize - LogOverhead;

    /// <summary>The smallest encoded record: length, attributes, timestamp delta, offset delta, key length, value length, header count.</summary>
    public const int MinRecordSize = 7;

    // Attributes.
    public const int CompressionMask = 0x07;
    public const int TimestampTypeBit = 0x08;
    public const int TransactionalBit = 0x10;
    public const int ControlBit = 0x20;
    public const int DeleteHorizonBit = 0x40;

    public const long NoTimestamp = -1;

    // Legacy messages, magic 0 and 1: offset (8), message size (4), crc (4), magic (1), attributes (1), [timestamp (8)], key, value.
    public const int LegacyCrc = 12;
    public const int LegacyMagic = 16;
    public const int LegacyAttributes = 17;
    public const int LegacyTimestamp = 18;

    /// <summary>The smallest magic-0 message size: crc, magic, attributes, key length, value length.</summary>
    public const int LegacyMinSizeV0 = 4 + 1 + 1 + 4 + 4;

    /// <summary>The smallest magic-1 message size: as magic 0 plus the timestamp.</summary>
    public const int LegacyMinSizeV1 = LegacyMinSizeV0 + 8;
}
