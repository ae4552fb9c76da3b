using Messaging.Producer;

namespace Messaging.Core.Tests.Producer;

/// <summary>The sequence rules of the idempotent producer, as the Java client applies them.</summary>
public sealed class IdempotenceStateTests
{
    private readonly IdempotenceState _state = new();
    private readonly PartitionState _partition = ProducerTestData.Partition("t", 0);

    public IdempotenceStateTests() => _state.SetProducerId(new ProducerIdAndEpoch(1000, 0));

    [Fact]
    public void Nothing_is_drained_before_there_is_a_producer_id()
    {
        var state = new IdempotenceState();
        Assert.False(state.CanDrain(_partition, ProducerTestData.Batch(_partition, 1)));
    }

    [Fact]
    public void Batches_get_consecutive_sequences_in_drain_order()
    {
        var a = Send(3);
        var b = Send(2);
        var c = Send(4);
        Assert.Equal((0, 3, 5), (a.BaseSequence, b.BaseSequence, c.BaseSequence));
        Assert.Equal(9, _partition.Sequences.NextSequence);
        Assert.All(new[] { a, b, c }, x => Assert.Equal((1000L, (short)0), (x.ProducerId, x.ProducerEpoch)));
        Assert.Equal(0, _partition.Sequences.FirstUnackedSequence);

        Ack(a, 0);
        Assert.Equal(2, _partition.Sequences.LastAckedSequence);
        Assert.Equal(3, _partition.Sequences.FirstUnackedSequence);
        Ack(b, 3);
        Ack(c, 5);
        Assert.Equal(8, _partition.Sequences.LastAckedSequence);
        Assert.Equal(8, _partition.Sequences.LastAckedOffset);
        Assert.Empty(_partition.Sequences.Unacked);
    }

    [Fact]
    public void A_retried_batch_goes_only_when_it_is_the_lowest_unacknowledged_sequence()
    {
        var a = Send(1);
        var b = Send(1);
        var c = Send(1);

        // a fails retriably; b and c come back with OUT_OF_ORDER_SEQUENCE_NUMBER (the echo of a's failure).
        Assert.True(Fail(a, ErrorCode.NotLeaderOrFollower));
        Assert.True(Fail(b, ErrorCode.OutOfOrderSequenceNumber));
        Assert.True(Fail(c, ErrorCode.OutOfOrderSequenceNumber));
        Assert.Equal(0, _state.EpochBumps);

        Assert.False(_state.CanDrain(_partition, c));
        Assert.False(_state.CanDrain(_partition, b));
        Assert.True(_state.CanDrain(_partition, a));
        _partition.InFlight++;
        Assert.False(_state.CanDrain(_partition, b)); // one at a time while retrying
        Ack(a, 0);
        Assert.True(_state.CanDrain(_partition, b));

        // A new batch may follow in the same epoch.
        var fresh = ProducerTestData.Batch(_partition, 1);
        Assert.True(_state.CanDrain(_partition, fresh));
    }

    [Fact]
    public void Out_of_order_sequence_on_the_next_expected_batch_bumps_the_epoch_and_renumbers_from_zero()
    {
        var a = Send(2);
        Ack(a, 0);
        var b = Send(3);
        var c = Send(1);

        // b is the next after the last acknowledged: a real gap on the broker.
        Assert.True(Fail(b, ErrorCode.OutOfOrderSequenceNumber));
        Assert.Equal(1, _state.EpochBumps);
        Assert.Equal(new ProducerIdAndEpoch(1000, 1), _state.Current);
        Assert.True(_partition.Sequences.RewritePending);

        // c is still in flight: nothing is renumbered yet, nothing drains.
        Assert.False(_state.CanDrain(_partition, b));
        Assert.True(Fail(c, ErrorCode.OutOfOrderSequenceNumber));
        Assert.Equal(1, _state.EpochBumps); // no second bump for the echo

        Assert.True(_state.CanDrain(_partition, b));
        Assert.Equal((1000L, (short)1, 0), (b.ProducerId, b.ProducerEpoch, b.BaseSequence));
        Assert.Equal((1000L, (short)1, 3), (c.ProducerId, c.ProducerEpoch, c.BaseSequence));
        Assert.True(b.SequenceHasBeenReset);
        Assert.Equal(4, _partition.Sequences.NextSequence);
        Assert.Equal(-1, _partition.Sequences.LastAckedSequence);
        Assert.False(_partition.Sequences.RewritePending);
    }

    [Fact]
    public void Unknown_producer_id_without_a_log_start_offset_is_retried_as_is()
    {
        var a = Send(1);
        Assert.True(Fail(a, ErrorCode.UnknownProducerId, logStartOffset: -1));
        Assert.Equal(0, _state.EpochBumps);
    }

    [Fact]
    public void Unknown_producer_id_with_a_log_start_offset_bumps_the_epoch()
    {
        var a = Send(1);
        Assert.True(Fail(a, ErrorCode.UnknownProducerId, logStartOffset: 10));
        Assert.Equal(1, _state.EpochBumps);
        Assert.True(_state.CanDrain(_partition, a));
        Assert.Equal((short)1, a.ProducerEpoch);
        Assert.Equal(0, a.BaseSequence);
    }

    [Fact]
    public void A_non_retriable_error_is_not_retried_and_bumps_the_epoch_when_the_batch_held_a_sequence()
    {
        var a = Send(1);
        var b = Send(1);
        _partition.InFlight--;
        Assert.False(_state.CanRetry(_partition, a, ErrorCode.MessageTooLarge, -1));
        _state.OnFailed(_partition, a, ErrorCode.MessageTooLarge, rejectedByBroker: true);
        Assert.Equal(1, _state.EpochBumps);
        Assert.Single(_partition.Sequences.Unacked);
        Assert.True(Fail(b, ErrorCode.OutOfOrderSequenceNumber));
        Assert.True(_state.CanDrain(_partition, b));
        Assert.Equal(0, b.BaseSequence);
        Assert.Equal((short)1, b.ProducerEpoch);
    }

    [Fact]
    public void Retriable_codes_are_retried_and_others_are_not()
    {
        var a = Send(1);
        _partition.InFlight--;
        Assert.True(_state.CanRetry(_partition, a, ErrorCode.NotLeaderOrFollower, -1));
        Assert.True(_state.CanRetry(_partition, a, ErrorCode.RequestTimedOut, -1));
        Assert.True(_state.CanRetry(_partition, a, ErrorCode.NetworkException, -1));
        Assert.False(_state.CanRetry(_partition, a, ErrorCode.TopicAuthorizationFailed, -1));
        Assert.False(_state.CanRetry(_partition, a, ErrorCode.InvalidRecord, -1));
        Assert.True(_state.CanRetry(_partition, a, ErrorCode.CorruptMessage, -1)); // CorruptRecordException is retriable in Java
    }

    [Fact]
    public void A_batch_that_timed_out_after_being_sent_holds_new_batches_until_later_acknowledgements_resolve_it()
    {
        var a = Send(2);
        var b = Send(2);
        a.Attempts = 1;

        // a times out in the producer (after a retriable failure): its fate is unknown.
        _partition.InFlight--;
        _state.OnFailed(_partition, a, ErrorCode.RequestTimedOut, rejectedByBroker: false);
        Assert.Equal(2, _partition.Sequences.UnresolvedNextSequence);
        var fresh = ProducerTestData.Batch(_partition, 1);
        Assert.False(_state.CanDrain(_partition, fresh));

        // b is acknowledged at sequence 2-3, so a (0-1) was written: resolved without a bump.
        Ack(b, 100);
        Assert.True(_state.CanDrain(_partition, fresh));
        Assert.False(_partition.Sequences.HasUnresolved);
        Assert.Equal(0, _state.EpochBumps);
    }

    [Fact]
    public void An_unresolved_sequence_that_no_acknowledgement_explains_bumps_the_epoch()
    {
        var a = Send(2);
        a.Attempts = 1;
        _partition.InFlight--;
        _state.OnFailed(_partition, a, ErrorCode.RequestTimedOut, rejectedByBroker: false);
        var fresh = ProducerTestData.Batch(_partition, 1);
        Assert.True(_state.CanDrain(_partition, fresh)); // nothing in flight: resolved by bumping
        Assert.Equal(1, _state.EpochBumps);
        _state.AssignSequence(_partition, fresh);
        Assert.Equal((short)1, fresh.ProducerEpoch);
        Assert.Equal(0, fresh.BaseSequence);
    }

    [Fact]
    public void The_echo_of_an_unresolved_batch_bumps_only_for_the_batch_right_after_it()
    {
        var a = Send(2);
        var b = Send(2);
        var c = Send(2);
        a.Attempts = 1;
        _partition.InFlight--;
        _state.OnFailed(_partition, a, ErrorCode.RequestTimedOut, rejectedByBroker: false);
        Assert.True(Fail(c, ErrorCode.OutOfOrderSequenceNumber));
        Assert.Equal(0, _state.EpochBumps); // c is not right after a: wait and see
        Assert.True(Fail(b, ErrorCode.OutOfOrderSequenceNumber));
        Assert.Equal(1, _state.EpochBumps); // b is: a was never written
    }

    [Fact]
    public void Other_partitions_move_to_a_new_epoch_at_sequence_zero_once_nothing_of_theirs_is_unacknowledged()
    {
        var other = ProducerTestData.Partition("u", 0);
        var x = ProducerTestData.Batch(other, 5);
        Assert.True(_state.CanDrain(other, x));
        _state.AssignSequence(other, x);
        other.InFlight++;

        var a = Send(1);
        Assert.True(Fail(a, ErrorCode.OutOfOrderSequenceNumber)); // bumps to epoch 1
        Assert.Equal((short)1, _state.Current.Epoch);

        var y = ProducerTestData.Batch(other, 1);
        Assert.False(_state.CanDrain(other, y)); // x (epoch 0) is still unacknowledged
        other.InFlight--;
        IdempotenceState.OnAcknowledged(other, x, 0);
        Assert.True(_state.CanDrain(other, y));
        _state.AssignSequence(other, y);
        Assert.Equal(((short)1, 0), (y.ProducerEpoch, y.BaseSequence));
    }

    [Fact]
    public void An_epoch_that_would_overflow_asks_for_a_new_producer_id()
    {
        _state.SetProducerId(new ProducerIdAndEpoch(7, short.MaxValue));
        var a = Send(1);
        Assert.True(Fail(a, ErrorCode.OutOfOrderSequenceNumber));
        Assert.False(_state.Current.IsValid);
        Assert.False(_state.CanDrain(_partition, a));
        _state.SetProducerId(new ProducerIdAndEpoch(8, 0));
        Assert.True(_state.CanDrain(_partition, a));
        Assert.Equal((8L, (short)0, 0), (a.ProducerId, a.ProducerEpoch, a.BaseSequence));
    }

    [Fact]
    public void Sequences_wrap_from_int_MaxValue_to_0_and_keep_their_order_across_the_wrap()
    {
        StartAt(int.MaxValue - 2);
        var a = Send(3); // MaxValue-2 .. MaxValue
        var b = Send(2); // 0 .. 1
        var c = Send(1); // 2
        Assert.Equal((int.MaxValue - 2, int.MaxValue, 0, 2), (a.BaseSequence, a.LastSequence, b.BaseSequence, c.BaseSequence));
        Assert.Equal([a, b, c], _partition.Sequences.Unacked);
        Assert.Equal(int.MaxValue - 2, _partition.Sequences.FirstUnackedSequence);

        Ack(a, 0);
        Assert.Equal(int.MaxValue, _partition.Sequences.LastAckedSequence);
        Assert.True(_partition.Sequences.IsNextSequence(0));
        Ack(b, 3);
        Assert.Equal(1, _partition.Sequences.LastAckedSequence);
        Ack(c, 5);
        Assert.Equal(2, _partition.Sequences.LastAckedSequence);
    }

    [Fact]
    public void Across_the_wrap_the_echo_of_a_failure_is_retried_in_order_and_the_real_gap_bumps_the_epoch()
    {
        StartAt(int.MaxValue - 1);
        var a = Send(2); // MaxValue-1 .. MaxValue
        var b = Send(2); // 0 .. 1
        var c = Send(1); // 2

        // a fails retriably; c and b come back OUT_OF_ORDER_SEQUENCE_NUMBER, the echo of a's failure: retried, no bump.
        Assert.True(Fail(a, ErrorCode.NotLeaderOrFollower));
        Assert.True(Fail(c, ErrorCode.OutOfOrderSequenceNumber));
        Assert.True(Fail(b, ErrorCode.OutOfOrderSequenceNumber));
        Assert.Equal(0, _state.EpochBumps);

        var queue = new BatchQueue();
        foreach (var batch in new[] { c, a, b })
        {
            queue.InsertInSequenceOrder(batch);
        }

        Assert.Equal([a, b, c], new[] { queue[0], queue[1], queue[2] });
        Assert.True(_state.CanDrain(_partition, a));
        Assert.False(_state.CanDrain(_partition, b));

        // a is written; b, right after it (across the wrap), is refused as out of order: a real gap.
        _partition.InFlight++;
        Ack(a, 0);
        _partition.InFlight++;
        Assert.True(Fail(b, ErrorCode.OutOfOrderSequenceNumber));
        Assert.Equal(1, _state.EpochBumps);
    }

    [Fact]
    public void Across_the_wrap_a_batch_that_timed_out_is_resolved_by_the_acknowledgement_of_the_next()
    {
        StartAt(int.MaxValue - 3);
        var a = Send(2); // MaxValue-3 .. MaxValue-2
        var b = Send(3); // MaxValue-1 .. 0
        var c = Send(2); // 1 .. 2
        a.Attempts = 1;
        b.Attempts = 1;

        // a and then b time out in the producer: the sequence after the later one is what an acknowledgement must reach.
        _partition.InFlight -= 2;
        _state.OnFailed(_partition, a, ErrorCode.RequestTimedOut, rejectedByBroker: false);
        _state.OnFailed(_partition, b, ErrorCode.RequestTimedOut, rejectedByBroker: false);
        Assert.Equal(1, _partition.Sequences.UnresolvedNextSequence);

        // c is acknowledged right after b's last sequence: both were written, resolved without a bump.
        Ack(c, 100);
        var fresh = ProducerTestData.Batch(_partition, 1);
        Assert.True(_state.CanDrain(_partition, fresh));
        Assert.False(_partition.Sequences.HasUnresolved);
        Assert.Equal(0, _state.EpochBumps);
    }

    /// <summary>The partition's next batch gets <paramref name="sequence"/>, as after that many records under the current epoch.</summary>
    private void StartAt(int sequence)
    {
        _partition.Sequences.ProducerIdAndEpoch = _state.Current;
        _partition.Sequences.NextSequence = sequence;
        _partition.Sequences.LastAckedSequence = ProducerBatch.IncrementSequence(sequence, int.MaxValue); // sequence - 1, wrapped
    }

    private ProducerBatch Send(int records)
    {
        var batch = ProducerTestData.Batch(_partition, records);
        Assert.True(_state.CanDrain(_partition, batch));
        _state.AssignSequence(_partition, batch);
        _partition.InFlight++;
        batch.Attempts++;
        return batch;
    }

    private void Ack(ProducerBatch batch, long baseOffset)
    {
        _partition.InFlight--;
        IdempotenceState.OnAcknowledged(_partition, batch, baseOffset);
    }

    /// <summary>The batch came back with an error; returns whether it may be retried.</summary>
    private bool Fail(ProducerBatch batch, ErrorCode code, long logStartOffset = -1)
    {
        _partition.InFlight--;
        return _state.CanRetry(_partition, batch, code, logStartOffset);
    }
}
