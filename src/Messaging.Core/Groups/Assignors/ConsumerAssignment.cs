namespace Messaging.Groups;

/// <summary>
/// What the group leader sends one member in SyncGroup (the Java client's <c>ConsumerProtocolAssignment</c>): its
/// partitions and optional assignor data.
/// </summary>
public sealed class ConsumerAssignment
{
    /// <summary>Creates an assignment of <paramref name="partitions"/>.</summary>
    /// <param name="partitions">The assigned partitions.</param>
    public ConsumerAssignment(IReadOnlyList<TopicPartition> partitions)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        Partitions = partitions;
    }

    /// <summary>The assigned partitions.</summary>
    public IReadOnlyList<TopicPartition> Partitions { get; }

    /// <summary>Data from the leader's assignor for this member, or null.</summary>
    public ReadOnlyMemory<byte>? UserData { get; init; }
}
