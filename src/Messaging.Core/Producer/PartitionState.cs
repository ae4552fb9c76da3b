namespace Messaging.Producer;

/// <summary>
/// Everything the producer keeps for one partition: its lock, the open batch appends go to, the closed batches
/// waiting to be sent, which broker's sender drains it, what is in flight, and its idempotence sequence state.
/// </summary>
/// <remarks>
/// <para>One lock per partition (<see cref="Sync"/>), held briefly: by an append while it encodes one record (a
/// memcpy of the record), by the sender while it takes a batch, by response handling while it updates state.
/// Producers writing to different partitions never contend; producers writing to the same partition serialise
/// there anyway, because records of a partition form one ordered batch.</para>
/// <para>A partition has requests in flight to one broker at a time (<see cref="InFlightSender"/>): after a leader
/// change its new sender waits until the old one's requests are answered, so batches cannot overtake each other.</para>
/// </remarks>
/// <param name="topic">Its topic.</param>
/// <param name="partition">Its index.</param>
/// <param name="sequences">The sequences it continues (its topic was dropped as idle and is produced to again), or null for new ones.</param>
internal sealed class PartitionState(TopicState topic, int partition, PartitionSequences? sequences = null)
{
    public Lock Sync { get; } = new();

    public TopicState Topic { get; } = topic;

    public int Partition { get; } = partition;

    /// <summary>The batch appends go to, or null.</summary>
    public ProducerBatch? Open { get; set; }

    /// <summary>Closed batches waiting to be sent, oldest first (retries first, in sequence order).</summary>
    public BatchQueue Queue { get; } = new();

    /// <summary>The leader's node id from metadata, or -1.</summary>
    public int Leader { get; set; } = -1;

    /// <summary>The sender that drains this partition (its leader's), or null while it has no leader.</summary>
    public BrokerSender? Sender { get; set; }

    /// <summary>
    /// True once the topic no longer has this partition (deleted and created again with fewer partitions): nothing is
    /// appended to or queued in it any more, and its batches fail (<see cref="RecordAccumulator.FailRemoved"/>).
    /// </summary>
    public bool Removed { get; set; }

    /// <summary>Requests carrying a batch of this partition and not yet answered.</summary>
    public int InFlight { get; set; }

    /// <summary>The sender those requests went through.</summary>
    public BrokerSender? InFlightSender { get; set; }

    /// <summary>The size of the last batch's buffer, so the next batch starts at a size that fits its traffic.</summary>
    public int LastBufferSize { get; set; }

    /// <summary>Sequence numbers and their bookkeeping (idempotence).</summary>
    public PartitionSequences Sequences { get; } = sequences ?? new();

    /// <summary>The topic and partition, for errors and logs.</summary>
    public TopicPartition TopicPartition => new(Topic.Name, Partition);
}

/// <summary>
/// One partition's idempotence state, as the Java client's <c>TxnPartitionEntry</c>: the producer id and epoch its
/// sequences belong to, the next sequence to assign, the last acknowledged one, and the batches that hold a sequence
/// and are not completed yet (sent, or waiting to be retried), by sequence. Used under the partition's lock.
/// </summary>
internal sealed class PartitionSequences
{
    public const int NoSequence = -1;

    /// <summary>The producer id and epoch the sequences below belong to.</summary>
    public ProducerIdAndEpoch ProducerIdAndEpoch { get; set; } = ProducerIdAndEpoch.None;

    public int NextSequence { get; set; }

    public int LastAckedSequence { get; set; } = NoSequence;

    public long LastAckedOffset { get; set; } = -1;

    /// <summary>Batches with a sequence that are not completed, in sequence order.</summary>
    public List<ProducerBatch> Unacked { get; } = [];

    /// <summary>
    /// When a batch that had been sent failed in the producer (it timed out) its fate on the broker is unknown:
    /// this holds the sequence after it until later acknowledgements resolve it (the Java client's
    /// <c>partitionsWithUnresolvedSequences</c>), or -1.
    /// </summary>
    public int UnresolvedNextSequence { get; set; } = NoSequence;

    /// <summary>An epoch bump was requested for this partition: its unacknowledged batches get new sequences from 0 under the new epoch once nothing of it is in flight.</summary>
    public bool RewritePending { get; set; }

    public bool HasUnresolved => UnresolvedNextSequence != NoSequence;

    /// <summary>The lowest sequence not yet acknowledged among batches that hold one, or -1.</summary>
    public int FirstUnackedSequence => Unacked.Count == 0 ? NoSequence : Unacked[0].BaseSequence;

    public void AddUnacked(ProducerBatch batch)
    {
        var i = Unacked.Count;
        while (i > 0 && ProducerBatch.CompareSequences(Unacked[i - 1].BaseSequence, batch.BaseSequence) > 0)
        {
            i--;
        }

        Unacked.Insert(i, batch);
    }

    public void RemoveUnacked(ProducerBatch batch) => Unacked.Remove(batch);

    /// <summary>Whether <paramref name="sequence"/> is the one right after the last acknowledged (0 after <see cref="int.MaxValue"/>, and 0 when none is).</summary>
    public bool IsNextSequence(int sequence) => sequence == ProducerBatch.IncrementSequence(LastAckedSequence, 1);

    /// <summary>Forgets everything: the next batch starts at sequence 0 under the current producer id and epoch.</summary>
    public void Reset()
    {
        ProducerIdAndEpoch = ProducerIdAndEpoch.None;
        NextSequence = 0;
        LastAckedSequence = NoSequence;
        LastAckedOffset = -1;
        UnresolvedNextSequence = NoSequence;
        RewritePending = false;
    }
}
