namespace Messaging.Groups;

/// <summary>
/// What one group member sends in its JoinGroup request (the Java client's <c>ConsumerProtocolSubscription</c>):
/// the topics it wants, optional assignor data, the partitions it owns now, the generation in which it got them, and
/// its rack.
/// </summary>
/// <remarks>
/// Which fields reach the wire depends on the protocol version: <see cref="OwnedPartitions"/> from version 1,
/// <see cref="GenerationId"/> from version 2, <see cref="RackId"/> from version 3. <see cref="GroupInstanceId"/> is
/// never encoded: the group leader fills it in from the JoinGroup response so that assignors can order static members.
/// </remarks>
public sealed class ConsumerSubscription
{
    private readonly int? _generationId;

    /// <summary>Creates a subscription to <paramref name="topics"/>.</summary>
    /// <param name="topics">The subscribed topics.</param>
    public ConsumerSubscription(IReadOnlyList<string> topics)
    {
        ArgumentNullException.ThrowIfNull(topics);
        Topics = topics;
    }

    /// <summary>The subscribed topics.</summary>
    public IReadOnlyList<string> Topics { get; }

    /// <summary>Data of the assignor that will run on the leader (from <see cref="IConsumerPartitionAssignor.GetSubscriptionUserData"/>), or null.</summary>
    public ReadOnlyMemory<byte>? UserData { get; init; }

    /// <summary>The partitions the member owns now (empty for a new member or after an eager revocation).</summary>
    public IReadOnlyList<TopicPartition> OwnedPartitions { get; init; } = [];

    /// <summary>
    /// The generation in which the member received <see cref="OwnedPartitions"/>, or null when unknown. A negative
    /// value is stored as null (the wire's -1 means "unknown", as in the Java client).
    /// </summary>
    public int? GenerationId
    {
        get => _generationId;
        init => _generationId = value is < 0 ? null : value;
    }

    /// <summary>The member's rack (<c>client.rack</c>), or null.</summary>
    public string? RackId { get; init; }

    /// <summary>The member's static group instance id, or null for a dynamic member. Not part of the encoded subscription.</summary>
    public string? GroupInstanceId { get; init; }
}
