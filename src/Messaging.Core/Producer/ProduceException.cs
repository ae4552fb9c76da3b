
namespace Messaging;

/// <summary>
/// A record was not delivered. <see cref="Kind"/> says why, <see cref="Code"/> carries the Kafka error code when a
/// broker gave one, and <see cref="KafkaException.IsRetriable"/> whether producing the record again may succeed.
/// </summary>
public sealed class ProduceException : KafkaException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="kind">Why the record failed.</param>
    /// <param name="code">The Kafka error code, or <see cref="ErrorCode.None"/> when no broker gave one.</param>
    /// <param name="topicPartition">The record's topic and partition (partition -1 when none was chosen).</param>
    /// <param name="message">The message.</param>
    /// <param name="isRetriable">Whether producing again may succeed.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public ProduceException(ProduceErrorKind kind, ErrorCode code, TopicPartition topicPartition, string message, bool isRetriable, Exception? innerException = null)
        : base(message, isRetriable, innerException)
    {
        Kind = kind;
        Code = code;
        TopicPartition = topicPartition;
    }

    /// <summary>Why the record failed.</summary>
    public ProduceErrorKind Kind { get; }

    /// <summary>The Kafka error code the broker answered with, or <see cref="ErrorCode.None"/>.</summary>
    public ErrorCode Code { get; }

    /// <summary>The Kafka name of <see cref="Code"/>, e.g. <c>NOT_LEADER_OR_FOLLOWER</c>.</summary>
    public string CodeName => ErrorCodes.Name(Code);

    /// <summary>The record's topic and partition (partition -1 when none was chosen).</summary>
    public TopicPartition TopicPartition { get; }
}
