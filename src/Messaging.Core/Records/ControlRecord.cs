using System.Buffers.Binary;

namespace Messaging.Records;

/// <summary>
/// The record of a control batch (<see cref="RecordBatch.IsControl"/>), which is never handed to applications. Its key
/// is <c>version int16, type int16</c>; for commit and abort markers its value is
/// <c>version int16, coordinator_epoch int32</c> (other control types have values this type does not parse).
/// </summary>
internal readonly struct ControlRecord
{
    /// <summary>Creates a control record value.</summary>
    /// <param name="keyVersion">The key's version field (0).</param>
    /// <param name="type">The control type.</param>
    /// <param name="valueVersion">The marker value's version (0), or -1 when not a transaction marker.</param>
    /// <param name="coordinatorEpoch">The transaction coordinator's epoch, or -1 when not a transaction marker.</param>
    public ControlRecord(short keyVersion, ControlRecordType type, short valueVersion, int coordinatorEpoch)
    {
        KeyVersion = keyVersion;
        Type = type;
        ValueVersion = valueVersion;
        CoordinatorEpoch = coordinatorEpoch;
    }

    /// <summary>The key's version field.</summary>
    public short KeyVersion { get; }

    /// <summary>The control type (values outside the enum are future types).</summary>
    public ControlRecordType Type { get; }

    /// <summary>True for commit and abort markers.</summary>
    public bool IsTransactionMarker => Type is ControlRecordType.Commit or ControlRecordType.Abort;

    /// <summary>The marker value's version; -1 when not a transaction marker.</summary>
    public short ValueVersion { get; }

    /// <summary>The coordinator epoch of a transaction marker; -1 when not a transaction marker.</summary>
    public int CoordinatorEpoch { get; }

    /// <summary>Parses the control record in <paramref name="record"/>.</summary>
    /// <param name="record">A record of a control batch.</param>
    /// <returns>The control record.</returns>
    /// <exception cref="KafkaProtocolException">The key is null or shorter than 4 bytes, the key version is
    /// negative, or a commit/abort marker's value is null, shorter than 6 bytes or has a negative version.</exception>
    public static ControlRecord Parse(in RecordView record)
    {
        ReadOnlySpan<byte> key = record.Key.Span;
        if (record.IsKeyNull || key.Length < 4)
        {
            RecordErrors.Throw(RecordErrors.Control, "Key", 0, "the control record key is null or shorter than 4 bytes");
        }

        short keyVersion = BinaryPrimitives.ReadInt16BigEndian(key);
        if (keyVersion < 0)
        {
            RecordErrors.Throw(RecordErrors.Control, "KeyVersion", 0, "negative control record key version " + RecordErrors.Str(keyVersion));
        }

        var type = (ControlRecordType)BinaryPrimitives.ReadInt16BigEndian(key.Slice(2));
        if (type is not (ControlRecordType.Commit or ControlRecordType.Abort))
        {
            return new ControlRecord(keyVersion, type, -1, -1);
        }

        ReadOnlySpan<byte> value = record.Value.Span;
        if (record.IsValueNull || value.Length < 6)
        {
            RecordErrors.Throw(RecordErrors.Control, "Value", 0, "the transaction marker value is null or shorter than 6 bytes");
        }

        short valueVersion = BinaryPrimitives.ReadInt16BigEndian(value);
        if (valueVersion < 0)
        {
            RecordErrors.Throw(RecordErrors.Control, "ValueVersion", 0, "negative transaction marker version " + RecordErrors.Str(valueVersion));
        }

        return new ControlRecord(keyVersion, type, valueVersion, BinaryPrimitives.ReadInt32BigEndian(value.Slice(2)));
    }
}
