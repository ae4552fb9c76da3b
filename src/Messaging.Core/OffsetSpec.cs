using System.Globalization;

namespace Messaging;

/// <summary>
/// Where to start in a partition, or which offset to look up: an exact offset, the earliest offset still in the log,
/// the latest (the end), the first offset at or after a time, or the offset of the record with the largest timestamp.
/// </summary>
/// <remarks>
/// One type serves both sides that speak of a position in a log: the consumer's <c>Assign</c> and <c>Seek</c> take it
/// as where to start reading, and <c>KafkaAdminClient.ListOffsetsAsync</c> takes it as what to look up. Every form but
/// an exact offset is resolved with a ListOffsets request to the partition's leader; an exact offset needs no lookup,
/// so the admin client rejects it. <c>default(OffsetSpec)</c> is the exact offset 0, and a <see cref="long"/> converts
/// implicitly to an exact offset, so <c>consumer.Seek(partition, 42)</c> reads as it should.
/// </remarks>
public readonly record struct OffsetSpec
{
    private const long EarliestValue = -2;
    private const long LatestValue = -1;
    private const long MaxTimestampValue = -3;

    private readonly SpecKind _kind;

    private OffsetSpec(SpecKind kind, long value)
    {
        _kind = kind;
        Value = value;
    }

    private enum SpecKind : byte
    {
        Offset,
        Timestamp,
        Earliest,
        Latest,
        MaxTimestamp,
    }

    /// <summary>The earliest offset still in the log (the log start offset).</summary>
    public static OffsetSpec Earliest { get; } = new(SpecKind.Earliest, EarliestValue);

    /// <summary>The end of the log: the offset the next record will get (the high watermark, or the last stable offset under read_committed).</summary>
    public static OffsetSpec Latest { get; } = new(SpecKind.Latest, LatestValue);

    /// <summary>The offset of the record with the largest timestamp (ListOffsets v7+).</summary>
    public static OffsetSpec MaxTimestamp { get; } = new(SpecKind.MaxTimestamp, MaxTimestampValue);

    /// <summary>True for an exact offset (<see cref="At"/>).</summary>
    public bool IsOffset => _kind == SpecKind.Offset;

    /// <summary>True for a time (<see cref="ForTimestamp"/>).</summary>
    public bool IsTimestamp => _kind == SpecKind.Timestamp;

    /// <summary>True for <see cref="Earliest"/>.</summary>
    public bool IsEarliest => _kind == SpecKind.Earliest;

    /// <summary>True for <see cref="Latest"/>.</summary>
    public bool IsLatest => _kind == SpecKind.Latest;

    /// <summary>True for <see cref="MaxTimestamp"/>.</summary>
    public bool IsMaxTimestamp => _kind == SpecKind.MaxTimestamp;

    /// <summary>
    /// The offset (for <see cref="IsOffset"/>), the Unix-millisecond time (for <see cref="IsTimestamp"/>), or
    /// Kafka's -2/-1/-3 for earliest/latest/max-timestamp.
    /// </summary>
    public long Value { get; }

    /// <summary>The timestamp field of a ListOffsets request for this spec (every form but an exact offset).</summary>
    internal long ListOffsetsTimestamp =>
        IsOffset ? throw new InvalidOperationException("An exact offset (" + ToString() + ") is not looked up with ListOffsets.") : Value;

    /// <summary>An exact offset.</summary>
    /// <param name="offset">The offset, at least 0.</param>
    /// <returns>The spec.</returns>
    public static OffsetSpec At(long offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        return new OffsetSpec(SpecKind.Offset, offset);
    }

    /// <summary>The first offset whose record timestamp is at or after <paramref name="time"/>; a consumer starts at the end of the log when there is none.</summary>
    /// <param name="time">The time, not before 1970.</param>
    /// <returns>The spec.</returns>
    public static OffsetSpec ForTimestamp(DateTimeOffset time)
    {
        long milliseconds = time.ToUnixTimeMilliseconds();
        ArgumentOutOfRangeException.ThrowIfNegative(milliseconds, nameof(time));
        return new OffsetSpec(SpecKind.Timestamp, milliseconds);
    }

    /// <summary>An exact offset.</summary>
    /// <param name="offset">The offset, at least 0.</param>
    public static implicit operator OffsetSpec(long offset) => At(offset);

    /// <summary>An exact offset (the implicit conversion's named alternative).</summary>
    /// <param name="offset">The offset, at least 0.</param>
    /// <returns>The spec.</returns>
    public static OffsetSpec FromInt64(long offset) => At(offset);

    /// <inheritdoc/>
    public override string ToString() => _kind switch
    {
        SpecKind.Timestamp => "timestamp " + Value.ToString(CultureInfo.InvariantCulture),
        SpecKind.Earliest => "earliest",
        SpecKind.Latest => "latest",
        SpecKind.MaxTimestamp => "max-timestamp",
        _ => Value.ToString(CultureInfo.InvariantCulture),
    };
}

/// <summary>The answer to one <see cref="OffsetSpec"/> query.</summary>
/// <param name="Offset">The offset, or -1 if no record matches (a timestamp after the last record).</param>
/// <param name="Timestamp">The matching record's timestamp, or -1.</param>
/// <param name="LeaderEpoch">The leader epoch of that offset, or -1 if unknown.</param>
public readonly record struct ListedOffset(long Offset, long Timestamp, int LeaderEpoch);

/// <summary>Which records ListOffsets may count as the end of a partition.</summary>
public enum IsolationLevel : sbyte
{
    /// <summary>Every record: the end is the high watermark.</summary>
    ReadUncommitted = 0,

    /// <summary>Only decided transactional records: the end is the last stable offset.</summary>
    ReadCommitted = 1,
}
