namespace Messaging.Groups;

/// <summary>Where a classic group member is, as the Java client's <c>AbstractCoordinator.MemberState</c> names it.</summary>
internal enum ClassicMemberState
{
    /// <summary>Not in the group (before the first join, after a reset or a leave).</summary>
    Unjoined,

    /// <summary>A JoinGroup is in flight. Heartbeats are off: the coordinator holds the join for the rebalance.</summary>
    PreparingRebalance,

    /// <summary>Joined a generation, waiting for the SyncGroup answer. Heartbeats are on.</summary>
    CompletingRebalance,

    /// <summary>Holding an assignment in a generation. Heartbeats are on.</summary>
    Stable,

    /// <summary>Stopped for good (fenced, refused): see <see cref="ClassicGroupMember.Failure"/>.</summary>
    Failed,

    /// <summary>Closed by its owner.</summary>
    Closed,
}
