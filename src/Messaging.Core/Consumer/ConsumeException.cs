
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
    /// is the position; the message names the offset the log diverges from.
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
}
