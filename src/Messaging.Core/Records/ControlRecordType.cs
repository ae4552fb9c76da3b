namespace Messaging.Records;

/// <summary>The type field of a control record's key.</summary>
internal enum ControlRecordType : short
{
    /// <summary>Transaction abort marker (0).</summary>
    Abort = 0,

    /// <summary>Transaction commit marker (1).</summary>
    Commit = 1,

    /// <summary>KRaft leader change (2).</summary>
    LeaderChange = 2,

    /// <summary>KRaft snapshot header (3).</summary>
    SnapshotHeader = 3,

    /// <summary>KRaft snapshot footer (4).</summary>
    SnapshotFooter = 4,

    /// <summary>KRaft version (5).</summary>
    KRaftVersion = 5,

    /// <summary>KRaft voters (6).</summary>
    KRaftVoters = 6,
}
