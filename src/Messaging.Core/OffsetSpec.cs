namespace Messaging;

/// <summary>Which offset of a partition <c>KafkaAdminClient.ListOffsetsAsync</c> looks up.</summary>
public readonly record struct OffsetSpec
{
    private OffsetSpec(long timestamp) => Timestamp = timestamp;

    /// <summary>The earliest offset still in the log (the log start offset).</summary>
    public static OffsetSpec Earliest { get; } = new(-2);

    /// <summary>The offset the next record will get (the high watermark, or the last stable offset under read_committed).</summary>
    public static OffsetSpec Latest { get; } = new(-1);

    /// <summary>The offset of the record with the largest timestamp (ListOffsets v7+).</summary>
    public static OffsetSpec MaxTimestamp { get; } = new(-3);

    /// <summary>The wire value: a timestamp in Unix milliseconds, or -1/-2/-3 for latest/earliest/max-timestamp.</summary>
    public long Timestamp { get; }

    /// <summary>The earliest offset whose record timestamp is at or after <paramref name="time"/>.</summary>
    public static OffsetSpec ForTimestamp(DateTimeOffset time)
    {
        var milliseconds = time.ToUnixTimeMilliseconds();
        ArgumentOutOfRangeException.ThrowIfNegative(milliseconds, nameof(time));
        return new OffsetSpec(milliseconds);
    }
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
