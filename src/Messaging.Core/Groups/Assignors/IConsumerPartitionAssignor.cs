namespace Messaging.Groups;

/// <summary>
/// Decides, on the group leader, which member of a classic consumer group reads which partition (the Java client's
/// <c>ConsumerPartitionAssignor</c>). Every member lists the assignors it supports by <see cref="Name"/> in its
/// JoinGroup request; the broker picks one that all members support, and the leader runs it.
/// </summary>
/// <remarks>
/// An assignor instance belongs to one consumer: <see cref="OnAssignment"/> may record state (the cooperative-sticky
/// assignor records the generation) that <see cref="GetSubscriptionUserData"/> sends in the next join. Implementations
/// must be deterministic: every candidate leader must compute the same result from the same input.
/// </remarks>
public interface IConsumerPartitionAssignor
{
    /// <summary>The protocol name sent in JoinGroup (for example <c>range</c>); unique among a consumer's assignors.</summary>
    string Name { get; }

    /// <summary>
    /// The rebalance protocols this assignor honours, preferred first. An assignor that lists
    /// <see cref="RebalanceProtocol.Cooperative"/> must never assign a partition to a new owner in the same round in
    /// which it is revoked from its current owner.
    /// </summary>
    IReadOnlyList<RebalanceProtocol> SupportedProtocols { get; }

    /// <summary>Returns the data this member sends to the leader's assignor in its subscription, or null for none.</summary>
    /// <param name="topics">The topics the member subscribes to.</param>
    /// <returns>The user data, or null.</returns>
    ReadOnlyMemory<byte>? GetSubscriptionUserData(IReadOnlyCollection<string> topics);

    /// <summary>Computes the assignment of every member from the members' subscriptions.</summary>
    /// <param name="cluster">The partition count of every topic the leader knows.</param>
    /// <param name="subscriptions">Each member's subscription, by member id.</param>
    /// <returns>One assignment per member id in <paramref name="subscriptions"/> (possibly empty).</returns>
    IReadOnlyDictionary<string, ConsumerAssignment> Assign(AssignorClusterView cluster, IReadOnlyDictionary<string, ConsumerSubscription> subscriptions);

    /// <summary>Called on every member when it receives its assignment from the leader.</summary>
    /// <param name="assignment">This member's assignment.</param>
    /// <param name="generationId">The group generation the assignment belongs to.</param>
    void OnAssignment(ConsumerAssignment assignment, int generationId);
}
