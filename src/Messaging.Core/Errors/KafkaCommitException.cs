using Messaging.Errors;

namespace Messaging;

/// <summary>
/// An offset commit failed for good: the coordinator refused it (the member's generation or epoch is gone, an
/// offset's metadata is too large, access was denied), or it could not be delivered before its deadline.
/// <see cref="GroupId"/> and <see cref="Code"/> say which group and why; <see cref="PartitionErrors"/> lists the
/// partitions the coordinator refused (empty when the whole request failed). Nothing in the request was committed
/// unless it is absent from <see cref="PartitionErrors"/> while that list is not empty.
/// </summary>
public sealed class KafkaCommitException : KafkaException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="groupId">The group.</param>
    /// <param name="code">The error that ended the commit.</param>
    /// <param name="message">The message.</param>
    /// <param name="isRetriable">Whether committing again (after rejoining, for generation errors) may succeed.</param>
    /// <param name="partitionErrors">The partitions the coordinator refused, with their errors.</param>
    /// <param name="innerException">The error underneath, if any.</param>
    public KafkaCommitException(string groupId, ErrorCode code, string message, bool isRetriable,
        IReadOnlyDictionary<TopicPartition, ErrorCode> partitionErrors, Exception? innerException = null)
        : base(message, isRetriable, innerException)
    {
        GroupId = groupId;
        Code = code;
        PartitionErrors = partitionErrors;
    }

    /// <summary>The group.</summary>
    public string GroupId { get; }

    /// <summary>The error that ended the commit.</summary>
    public ErrorCode Code { get; }

    /// <summary>The partitions the coordinator refused, with their errors; empty when the whole request failed.</summary>
    public IReadOnlyDictionary<TopicPartition, ErrorCode> PartitionErrors { get; }
}
