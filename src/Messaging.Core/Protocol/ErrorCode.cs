namespace Messaging.Protocol;

/// <summary>Kafka protocol error codes as they appear in responses.</summary>
public enum ErrorCode : short
{
    /// <summary>The server experienced an unexpected error when processing the request.</summary>
    UnknownServerError = -1,
    /// <summary>No error.</summary>
    None = 0,
    /// <summary>The requested offset is not within the range of offsets maintained by the server.</summary>
    OffsetOutOfRange = 1,
    /// <summary>This message has failed its CRC checksum, exceeds the valid size, has a null key for a compacted topic, or is otherwise corrupt.</summary>
    CorruptMessage = 2,
    /// <summary>This server does not host this topic-partition.</summary>
    UnknownTopicOrPartition = 3,
    /// <summary>There is no leader for this topic-partition as we are in the middle of a leadership election.</summary>
    LeaderNotAvailable = 5,
    /// <summary>For requests intended only for the leader, this error indicates that the broker is not the current leader.</summary>
    NotLeaderOrFollower = 6,
    /// <summary>The request timed out.</summary>
    RequestTimedOut = 7,
    /// <summary>The coordinator is not available.</summary>
    CoordinatorNotAvailable = 15,
    /// <summary>This is not the correct coordinator.</summary>
    NotCoordinator = 16,
    /// <summary>Messages are rejected since there are fewer in-sync replicas than required.</summary>
    NotEnoughReplicas = 19,
    /// <summary>The version of API is not supported.</summary>
    UnsupportedVersion = 35,
    /// <summary>Topic with this name already exists.</summary>
    TopicAlreadyExists = 36,
    /// <summary>The server disconnected before a response was received.</summary>
    NetworkException = 13,
}
