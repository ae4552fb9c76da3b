using Messaging.Errors;

namespace Messaging;

/// <summary>
/// The consumer group refused this member for good: its group instance id was fenced by another instance or is
/// still held by one, the group is full, the protocol does not match the group's, or access was denied.
/// <see cref="GroupId"/> and <see cref="Code"/> say which group and why. The member stops; a new one may join.
/// With <see cref="ErrorCode.None"/> as <see cref="Code"/> it reports, from a consume call, a rebalance the member went
/// through without stopping: the rebalance listener threw, or the member could not use its assignment and rejoined.
/// </summary>
public sealed class KafkaGroupException : KafkaException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="groupId">The group.</param>
    /// <param name="code">The error the coordinator answered with.</param>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The error underneath, if any.</param>
    public KafkaGroupException(string groupId, ErrorCode code, string message, Exception? innerException = null)
        : base(message, isRetriable: false, innerException)
    {
        GroupId = groupId;
        Code = code;
    }

    /// <summary>The group.</summary>
    public string GroupId { get; }

    /// <summary>The error the coordinator answered with.</summary>
    public ErrorCode Code { get; }
}
