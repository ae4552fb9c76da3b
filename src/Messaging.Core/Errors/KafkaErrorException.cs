
namespace Messaging;

/// <summary>
/// A broker answered with a Kafka error code. <see cref="Code"/> and <see cref="Name"/> identify it; whether it is
/// retriable comes from the one table in <see cref="ErrorCodes"/>.
/// </summary>
public sealed class KafkaErrorException : KafkaException
{
    /// <summary>Creates the exception for <paramref name="code"/> with a message saying where it came from.</summary>
    public KafkaErrorException(ErrorCode code, string message)
        : base(message, ErrorCodes.IsRetriable(code))
    {
        Code = code;
    }

    /// <summary>The Kafka error code.</summary>
    public ErrorCode Code { get; }

    /// <summary>The error's Kafka name, e.g. <c>NOT_LEADER_OR_FOLLOWER</c>.</summary>
    public string Name => ErrorCodes.Name(Code);
}
