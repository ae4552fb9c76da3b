namespace Messaging.Groups;

/// <summary>
/// How a classic consumer group moves partitions between members during a rebalance (the Java client's
/// <c>ConsumerPartitionAssignor.RebalanceProtocol</c>; the numeric values are the ones it uses).
/// </summary>
public enum RebalanceProtocol
{
    /// <summary>Every member gives up all its partitions before it rejoins; the assignor may reshuffle everything.</summary>
    Eager = 0,

    /// <summary>
    /// Members keep their partitions while they rejoin; the assignor never hands a partition to a new owner in the
    /// round in which it takes it from the old one, so the group rebalances again once the old owner has revoked it.
    /// </summary>
    Cooperative = 1,
}
