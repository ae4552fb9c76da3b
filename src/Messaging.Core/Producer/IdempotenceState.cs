
namespace Messaging.Producer;

/// <summary>
/// The idempotent producer's bookkeeping: the producer id and epoch, and per partition the sequence rules the Java
/// client follows (<c>TransactionManager</c> and <c>RecordAccumulator.drain</c>, for a producer that is idempotent
/// and not transactional).
/// </summary>
/// <remarks>
/// <para><b>Sequences.</b> A batch gets its base sequence when it is drained for its first send and keeps it for
/// every retry, so the broker can drop a retry it already wrote (DUPLICATE_SEQUENCE_NUMBER counts as delivered).
/// Up to <c>max.in.flight.requests.per.connection</c> (at most 5) batches of a partition are in flight; once one
/// comes back to be retried, only the partition's lowest unacknowledged sequence is sent, one batch at a time,
/// until the retried batches are through — so order holds across retries.</para>
/// <para><b>Errors.</b> OUT_OF_ORDER_SEQUENCE_NUMBER is retried; when the failing batch is the next one after the
/// last acknowledged (a real gap, not the echo of an earlier failure) the epoch is bumped. UNKNOWN_PRODUCER_ID is
/// retried (when the response carries no log start offset, or the batch's sequence was already reset) or retried
/// with an epoch bump. A batch that fails for good after holding a sequence also bumps the epoch (the gap would
/// block every later batch); a batch that timed out after being sent leaves the partition "unresolved" until later
/// acknowledgements show whether it was written, and bumps the epoch if they cannot.</para>
/// <para><b>Epoch bumps</b> are local, as in the Java client for a non-transactional producer: the epoch goes up by
/// one (a new producer id is requested when it would overflow), and the partition that asked gets its
/// unacknowledged batches renumbered from sequence 0 under the new epoch — here only once none of its requests is
/// in flight, so a renumbered batch is never in flight under its old numbering. Other partitions move to the new
/// epoch, at sequence 0, the next time they have nothing unacknowledged.</para>
/// <para>Threading: the per-partition methods run under the partition's lock; the producer id and epoch are one
/// immutable object swapped under <see cref="_lock"/>.</para>
/// </remarks>
internal sealed class IdempotenceState
{
    private readonly Lock _lock = new();
    private ProducerIdAndEpochBox _current = new(ProducerIdAndEpoch.None);
    private int _bumps;

    /// <summary>The current producer id and epoch.</summary>
    public ProducerIdAndEpoch Current => Volatile.Read(ref _current).Value;

    /// <summary>How many times the epoch was bumped (for tests and diagnostics).</summary>
    public int EpochBumps => Volatile.Read(ref _bumps);

    /// <summary>Sets the producer id and epoch InitProducerId returned.</summary>
    public void SetProducerId(ProducerIdAndEpoch value)
    {
        lock (_lock)
        {
            Volatile.Write(ref _current, new ProducerIdAndEpochBox(value));
        }
    }

    /// <summary>
    /// Whether <paramref name="first"/>, the partition's next batch, may be sent now (the inverse of the Java
    /// client's <c>shouldStopDrainBatchesForPartition</c>); first applies a pending renumbering and resolves
    /// unresolved sequences when nothing of the partition is in flight. Under the partition's lock.
    /// </summary>
    public bool CanDrain(PartitionState partition, ProducerBatch first)
    {
        var current = Current;
        if (!current.IsValid)
        {
            return false; // no producer id yet (or a new one is being fetched)
        }

        var sequences = partition.Sequences;
        if (partition.InFlight == 0)
        {
            if (sequences.HasUnresolved && sequences.Unacked.Count == 0)
            {
                // Every batch that was sent has come back: the last acknowledgement tells whether the timed-out batch was written.
                if (sequences.IsNextSequence(sequences.NextSequence))
                {
                    sequences.UnresolvedNextSequence = PartitionSequences.NoSequence;
                }
                else
                {
                    RequestEpochBump(partition);
                    current = Current;
                    if (!current.IsValid)
                    {
                        return false;
                    }
                }
            }

            if (sequences.RewritePending)
            {
                StartSequencesAtBeginning(sequences, current);
            }
        }
        else if (sequences.RewritePending)
        {
            return false; // renumber only once nothing of the partition is in flight
        }

        if (!first.HasSequence)
        {
            if (sequences.Unacked.Count > 0 && sequences.ProducerIdAndEpoch != current)
            {
                return false; // batches of the old epoch first; new ones start at sequence 0 after them
            }

            if (sequences.HasUnresolved)
            {
                return false; // wait until the fate of the timed-out batch is known
            }
        }

        // A batch being retried goes only when it is the lowest unacknowledged sequence: one at a time, in order.
        var firstUnacked = sequences.FirstUnackedSequence;
        return firstUnacked == PartitionSequences.NoSequence || !first.HasSequence || first.BaseSequence == firstUnacked;
    }

    /// <summary>Gives a batch its producer id, epoch and base sequence for its first send. Under the partition's lock, after <see cref="CanDrain"/>.</summary>
    public void AssignSequence(PartitionState partition, ProducerBatch batch)
    {
        var current = Current;
        var sequences = partition.Sequences;
        if (sequences.ProducerIdAndEpoch != current && sequences.Unacked.Count == 0)
        {
            // A new producer id or epoch: this partition starts again at sequence 0.
            sequences.Reset();
            sequences.ProducerIdAndEpoch = current;
        }

        batch.SetProducerState(current.ProducerId, current.Epoch, sequences.NextSequence, isReset: false);
        sequences.NextSequence = ProducerBatch.IncrementSequence(sequences.NextSequence, batch.Count);
        sequences.AddUnacked(batch);
    }

    /// <summary>A batch was acknowledged (or found to be a duplicate of one that was). Under the partition's lock.</summary>
    public static void OnAcknowledged(PartitionState partition, ProducerBatch batch, long baseOffset)
    {
        if (!batch.HasSequence)
        {
            return;
        }

        var sequences = partition.Sequences;
        if (sequences.LastAckedSequence == PartitionSequences.NoSequence || ProducerBatch.CompareSequences(batch.LastSequence, sequences.LastAckedSequence) > 0)
        {
            sequences.LastAckedSequence = batch.LastSequence;
        }

        if (baseOffset >= 0 && baseOffset + batch.Count - 1 > sequences.LastAckedOffset)
        {
            sequences.LastAckedOffset = baseOffset + batch.Count - 1;
        }

        sequences.RemoveUnacked(batch);
    }

    /// <summary>
    /// The parts of a batch the broker refused as too large take its place among the unacknowledged batches, with its
    /// producer id, epoch and sequences, which the broker never wrote (the Java client's split keeps them too): the
    /// first part from its base sequence, the second after the first. Under the partition's lock.
    /// </summary>
    public static void OnSplit(PartitionState partition, ProducerBatch refused, ProducerBatch first, ProducerBatch second)
    {
        if (!refused.HasSequence)
        {
            return;
        }

        var sequences = partition.Sequences;
        sequences.RemoveUnacked(refused);
        first.SetProducerState(refused.ProducerId, refused.ProducerEpoch, refused.BaseSequence, isReset: false);
        second.SetProducerState(refused.ProducerId, refused.ProducerEpoch, ProducerBatch.IncrementSequence(refused.BaseSequence, first.Count), isReset: false);
        sequences.AddUnacked(first);
        sequences.AddUnacked(second);
    }

    /// <summary>
    /// Whether a batch the broker rejected with <paramref name="code"/> may be retried, bumping the epoch where the
    /// Java client would (its <c>TransactionManager.canRetry</c> for an idempotent producer). Under the partition's lock.
    /// </summary>
    public bool CanRetry(PartitionState partition, ProducerBatch batch, ErrorCode code, long logStartOffset)
    {
        var sequences = partition.Sequences;
        if (code == ErrorCode.UnknownProducerId)
        {
            if (logStartOffset == -1 || batch.SequenceHasBeenReset)
            {
                // No log start offset: retry until one comes. Already renumbered: later echoes of the same loss.
                return true;
            }

            // The broker lost our state (retention removed the head of the log, or it simply does not know us):
            // either way the idempotent producer moves to a new epoch and retries.
            RequestEpochBump(partition);
            return true;
        }

        if (code == ErrorCode.OutOfOrderSequenceNumber)
        {
            if (!sequences.HasUnresolved && (batch.SequenceHasBeenReset || !sequences.IsNextSequence(batch.BaseSequence)))
            {
                return true; // the echo of an earlier batch's failure: retry in order once that one is through
            }

            if (!sequences.HasUnresolved || batch.BaseSequence == sequences.UnresolvedNextSequence)
            {
                RequestEpochBump(partition); // a real gap
            }

            return true;
        }

        return ErrorCodes.IsRetriable(code);
    }

    /// <summary>
    /// A batch failed for good (the Java client's <c>handleFailedBatch</c>). <paramref name="rejectedByBroker"/>:
    /// the broker answered with a non-retriable error, so the sequence was not used and later batches would leave a
    /// gap; otherwise (it timed out, or the producer is closing) its fate is unknown. Under the partition's lock.
    /// </summary>
    public void OnFailed(PartitionState partition, ProducerBatch batch, ErrorCode code, bool rejectedByBroker)
    {
        if (!batch.HasSequence)
        {
            return;
        }

        var sequences = partition.Sequences;
        if (!rejectedByBroker && batch.Attempts > 0)
        {
            var next = ProducerBatch.IncrementSequence(batch.LastSequence, 1);
            if (!sequences.HasUnresolved || ProducerBatch.CompareSequences(next, sequences.UnresolvedNextSequence) > 0)
            {
                sequences.UnresolvedNextSequence = next;
            }
        }

        sequences.RemoveUnacked(batch);
        if (rejectedByBroker || code is ErrorCode.OutOfOrderSequenceNumber or ErrorCode.UnknownProducerId)
        {
            RequestEpochBump(partition);
        }
    }

    /// <summary>
    /// Moves the producer to the next epoch (unless this partition's sequences already belong to an older epoch
    /// than the current one, i.e. someone bumped since) and marks the partition for renumbering. Under the
    /// partition's lock.
    /// </summary>
    public void RequestEpochBump(PartitionState partition)
    {
        var sequences = partition.Sequences;
        lock (_lock)
        {
            var current = _current.Value;
            if (current.IsValid && sequences.ProducerIdAndEpoch == current)
            {
                var next = current.Epoch == short.MaxValue
                    ? ProducerIdAndEpoch.None // the epoch would overflow: fetch a new producer id
                    : current with { Epoch = (short)(current.Epoch + 1) };
                Volatile.Write(ref _current, new ProducerIdAndEpochBox(next));
                Interlocked.Increment(ref _bumps);
            }
        }

        sequences.RewritePending = true;
    }

    private static void StartSequencesAtBeginning(PartitionSequences sequences, ProducerIdAndEpoch current)
    {
        var sequence = 0;
        foreach (var batch in sequences.Unacked)
        {
            batch.SetProducerState(current.ProducerId, current.Epoch, sequence, isReset: true);
            sequence = ProducerBatch.IncrementSequence(sequence, batch.Count);
        }

        sequences.ProducerIdAndEpoch = current;
        sequences.NextSequence = sequence;
        sequences.LastAckedSequence = PartitionSequences.NoSequence;
        sequences.UnresolvedNextSequence = PartitionSequences.NoSequence;
        sequences.RewritePending = false;
    }

    /// <summary>The immutable holder swapped atomically (a 10-byte struct cannot be read atomically).</summary>
    private sealed class ProducerIdAndEpochBox(ProducerIdAndEpoch value)
    {
        public ProducerIdAndEpoch Value { get; } = value;
    }
}
