
namespace Messaging;

/// <summary>What went wrong while consuming a partition.</summary>
public enum ConsumeErrorKind
{
    /// <summary>A batch failed its CRC check, was malformed or truncated, or decompressed to more than allowed (a decompression bomb).</summary>
    CorruptRecord,

    /// <summary>The position is outside the log and <see cref="AutoOffsetReset.Error"/> says not to reset it.</summary>
    OffsetOutOfRange,

    /// <summary>The key or value deserializer threw (the inner exception says why).</summary>
    Deserialization,

    /// <summary>The broker answered the partition's Fetch or ListOffsets with an error that retrying will not fix (see <see cref="ConsumeException.ErrorCode"/>).</summary>
    BrokerError,

    /// <summary>
    /// The partition's log was truncated past records the application already consumed (an unclean leader election
    /// made a replica without them leader; detected with the leader epochs of fetched batches, KIP-320) and
    /// <see cref="AutoOffsetReset.Error"/> says not to move the position back. <see cref="ConsumeException.Offset"/>
    /// is the position; <see cref="ConsumeException.DivergingOffset"/> is the offset the log diverges from, where
    /// reading the new leader's log goes on without skipping any of its records.
    /// </summary>
    LogTruncation,
}

/// <summary>
/// Consuming one partition failed at a known offset. The partition's position has not moved past
/// <see cref="Offset"/>; the partition is held (not fetched) until the application seeks it (to retry, or to skip past
/// the problem) or assigns again. Other partitions are not affected.
/// </summary>
public sealed class ConsumeException : KafkaException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What happened.</param>
    /// <param name="kind">The kind of failure.</param>
    /// <param name="topicPartition">The partition.</param>
    /// <param name="offset">The offset it happened at (the position stays there).</param>
    /// <param name="errorCode">The broker's error code, for <see cref="ConsumeErrorKind.BrokerError"/> and <see cref="ConsumeErrorKind.OffsetOutOfRange"/>.</param>
    /// <param name="innerException">The underlying failure.</param>
    public ConsumeException(string message, ConsumeErrorKind kind, TopicPartition topicPartition, long offset, ErrorCode errorCode = ErrorCode.None, Exception? innerException = null)
        : base(message, isRetriable: false, innerException)
    {
        Kind = kind;
        TopicPartition = topicPartition;
        Offset = offset;
        ErrorCode = errorCode;
    }

    /// <summary>The kind of failure.</summary>
    public ConsumeErrorKind Kind { get; }

    /// <summary>The partition.</summary>
    public TopicPartition TopicPartition { get; }

    /// <summary>The offset the failure happened at; the partition's position is still there.</summary>
    public long Offset { get; }

    /// <summary>The broker's error code, or <see cref="ErrorCode.None"/>.</summary>
    public ErrorCode ErrorCode { get; }

    /// <summary>
    /// For <see cref="ConsumeErrorKind.LogTruncation"/>: the offset the partition's log diverges from what was
    /// consumed (the end offset of the last leader epoch both share) — the records from there on are the new leader's,
    /// none of them consumed yet: seek there to read on without skipping any. -1 for other kinds, or when the leader
    /// could not say where its log diverges.
    /// </summary>
    public long DivergingOffset { get; internal init; } = -1;
}
