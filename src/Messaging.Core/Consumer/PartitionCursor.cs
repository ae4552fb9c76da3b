namespace Messaging.Consumer;

/// <summary>What a partition's cursor is doing.</summary>
internal enum CursorState
{
    /// <summary>Its start position is being looked up (earliest, latest, a timestamp).</summary>
    Resetting,

    /// <summary>Fetching from <see cref="PartitionCursor.FetchOffset"/> (once its leader is known).</summary>
    Fetching,

    /// <summary>Stopped after an error the application must act on (seek or assign).</summary>
    Held,

    /// <summary>No longer assigned.</summary>
    Removed,
}

/// <summary>
/// One assigned partition's state: where fetching has got to, where the application has got to, who leads it, and
/// whether it may be fetched now.
/// </summary>
/// <remarks>
/// <para>Two positions: <see cref="FetchOffset"/> is the next offset to fetch (past everything fetched and buffered);
/// <see cref="Position"/> is the next offset to hand to the application. Prefetching keeps the first ahead of the second.</para>
/// <para>Threading: the fields marked so are guarded by the fetcher's lock. <see cref="Generation"/> is replaced (under
/// that lock) by anything that invalidates fetched data — a seek, a pause, an error, unassignment — and read without
/// the lock by the consuming thread, which drops data of an older generation. The position lives in the generation:
/// the consuming thread steps it in the generation its data was fetched for, so a concurrent seek is never overwritten
/// (see <see cref="CursorGeneration"/>).</para>
/// </remarks>
internal sealed class PartitionCursor
{
    private CursorGeneration _generation = new(-1);

    public PartitionCursor(TopicPartition topicPartition)
    {
        TopicPartition = topicPartition;
    }

    public TopicPartition TopicPartition { get; }

    public string Topic => TopicPartition.Topic;

    public int Partition => TopicPartition.Partition;

    // ---- Guarded by the fetcher's lock. ----

    public CursorState State { get; set; } = CursorState.Resetting;

    /// <summary>Where to start when <see cref="State"/> is <see cref="CursorState.Resetting"/>.</summary>
    public OffsetSpec PendingReset { get; set; } = OffsetSpec.Latest;

    public long FetchOffset { get; set; } = -1;

    /// <summary>
    /// The leader epoch of the last batch fetched before <see cref="FetchOffset"/>, or -1 while unknown (after a seek,
    /// an assignment or an offset reset). Sent as the Fetch's LastFetchedEpoch, with which the leader checks that the
    /// log this consumer read is still its log (KIP-320); set per batch, never per record. Kept when the fetch offset
    /// goes back to the position (a pause, a hold): epochs only grow along the log, so the leader still finds a
    /// divergence before the position with it, and a log that did not diverge holds that epoch past the position.
    /// </summary>
    public int LastFetchedEpoch { get; set; } = -1;

    /// <summary>The leader's node id, or -1 while unknown (metadata is being refreshed).</summary>
    public int Leader { get; set; } = -1;

    public int LeaderEpoch { get; set; } = -1;

    /// <summary>
    /// The replica the leader named for this consumer to read from (KIP-392: a follower in the consumer's rack), or -1.
    /// Fetched from instead of the leader until <see cref="ReadReplicaUntil"/>, or until a Fetch there fails or errs.
    /// </summary>
    public int ReadReplica { get; set; } = -1;

    /// <summary>When <see cref="ReadReplica"/> runs out (a timestamp of the consumer's clock): the leader is asked again then.</summary>
    public long ReadReplicaUntil { get; set; }

    /// <summary>The broker the partition is fetched from: the read replica the leader named, else the leader.</summary>
    public int FetchNode => ReadReplica >= 0 ? ReadReplica : Leader;

    public Guid TopicId { get; set; }

    public bool Paused { get; set; }

    /// <summary>
    /// Added by a group assignment whose rebalance listener has not run yet: not fetched until it has, so no record of
    /// the partition reaches the application before its OnPartitionsAssigned callback (a seek in it applies first).
    /// </summary>
    public bool AwaitingStart { get; set; }

    /// <summary>True while a Fetch (or ListOffsets) for it is outstanding: nothing else may fetch it.</summary>
    public bool InFlight { get; set; }

    /// <summary>Not fetched before this timestamp of the consumer's clock (after a retriable error).</summary>
    public long RetryAt { get; set; }

    /// <summary>
    /// Held by a Fetch answer or a failed start lookup whose reason (a partition error, data ending in corruption, the
    /// lookup's error) is queued for the application and not yet delivered. A pause drops what is queued, that reason
    /// with it, so it sends the partition back to <see cref="HoldReturnsTo"/>: a lasting failure is met, and reported,
    /// again. Cleared by every new generation.
    /// </summary>
    public bool HoldQueued { get; set; }

    /// <summary>
    /// Where a pause that drops the queued reason of a hold (<see cref="HoldQueued"/>) sends the partition:
    /// <see cref="CursorState.Fetching"/> from its position (a Fetch answer held it), or
    /// <see cref="CursorState.Resetting"/> to look its start up again (that lookup failed). Reset by every new generation.
    /// </summary>
    public CursorState HoldReturnsTo { get; set; } = CursorState.Fetching;

    /// <summary>
    /// The error a partition was added held with (no start position, see <see cref="PartitionCursors.AddHeld"/>):
    /// nothing the fetcher does finds it again, so a resume after a pause that dropped it queues it again. Kept across
    /// pauses; cleared by a seek, a new start, or a hold once the application got it.
    /// </summary>
    public ConsumeException? HeldError { get; set; }

    // ---- Read without the lock. ----

    /// <summary>The current generation, replaced whenever fetched data for the partition becomes invalid.</summary>
    public CursorGeneration Generation => Volatile.Read(ref _generation);

    /// <summary>
    /// The next offset to hand to the application, or -1 while unknown: the current generation's position. Set it
    /// only under the fetcher's lock (a seek, a hold, a looked-up start); the consuming thread writes its own
    /// generation's <see cref="CursorGeneration.Position"/> instead.
    /// </summary>
    public long Position
    {
        get => Generation.Position;
        set => Generation.MoveTo(value);
    }

    public long HighWatermark { get; set; } = -1;

    public long LastStableOffset { get; set; } = -1;

    public long LogStartOffset { get; set; } = -1;

    /// <summary>
    /// Invalidates everything fetched so far (call under the fetcher's lock): a new generation starts at the current
    /// position, and whatever the consuming thread still writes into the old one is ignored.
    /// </summary>
    public void BumpGeneration()
    {
        HoldQueued = false;
        HoldReturnsTo = CursorState.Fetching;
        var consumed = ConsumedPosition.Of(Generation);
        Volatile.Write(ref _generation, new CursorGeneration(consumed.Offset, consumed.LeaderEpoch));
    }

    /// <summary>True when a Fetch may include the partition now.</summary>
    public bool IsFetchable(long now) => State == CursorState.Fetching && Leader >= 0 && !Paused && !AwaitingStart && !InFlight && RetryAt <= now;
}
