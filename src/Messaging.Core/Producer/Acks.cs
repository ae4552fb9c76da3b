namespace Messaging;

/// <summary><c>acks</c>: how many replicas must have a record before the leader acknowledges it.</summary>
public enum Acks : short
{
    /// <summary><c>acks=0</c>: the producer does not wait for any acknowledgement; a record counts as delivered
    /// once written to the socket, and its offset is unknown (-1). Idempotence needs <see cref="All"/>.</summary>
    None = 0,

    /// <summary><c>acks=1</c>: the leader wrote the record to its log.</summary>
    Leader = 1,

    /// <summary><c>acks=all</c> (-1): every in-sync replica has the record. The default, and required by idempotence.</summary>
    All = -1,
}
