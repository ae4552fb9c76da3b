using Messaging.Producer;
using Messaging.Records;

namespace Messaging.Core.Tests.Producer;

/// <summary>A record's outcome comes by its delivery deadline, also when its batch is queued or still open behind a batch with a later one.</summary>
public sealed class BatchExpiryTests
{
    [Fact]
    public void A_queued_batch_past_its_deadline_expires_while_the_batch_ahead_of_it_still_has_time()
    {
        var (settings, accumulator, partition) = NewAccumulator(new IdempotenceState());

        // Three closed batches (full, say) wait for a partition without a leader. The middle one was opened by a record
        // that waited (for memory or metadata) until its deadline, counted from its call, had passed; the other two
        // have their whole delivery timeout ahead of them.
        ProduceException? ahead = null;
        ProduceException? late = null;
        ProduceException? behind = null;
        Append(accumulator, partition, 0, (DeliveryHandler)((in DeliveryResult _, ProduceException? error, object? _) => ahead = error));
        var first = Close(partition);
        Append(accumulator, partition, settings.Clock.Now - 1, (DeliveryHandler)((in DeliveryResult _, ProduceException? error, object? _) => late = error));
        Close(partition);
        Append(accumulator, partition, 0, (DeliveryHandler)((in DeliveryResult _, ProduceException? error, object? _) => behind = error));
        var last = Close(partition);

        accumulator.ExpireQueued(settings.Clock.Now, []);

        Assert.Equal(ProduceErrorKind.DeliveryTimeout, late?.Kind);
        Assert.Null(ahead);
        Assert.Null(behind);
        Assert.Equal(2, partition.Queue.Count);
        Assert.Same(first, partition.Queue[0]); // the others keep their order
        Assert.Same(last, partition.Queue[1]);
        Assert.Equal(2, accumulator.IncompleteCount);
    }

    [Fact]
    public void With_idempotence_a_retried_batch_past_its_deadline_expires_behind_a_lower_sequence_and_the_partition_waits_to_resolve_it()
    {
        var idempotence = new IdempotenceState();
        idempotence.SetProducerId(new ProducerIdAndEpoch(1000, 0));
        var (settings, accumulator, partition) = NewAccumulator(idempotence);
        Assert.True(settings.Idempotent);

        // Three batches were sent (sequences 0, 1, 2), failed retriably, and wait to be retried in sequence order; the
        // middle one's deadline has passed (a record in it had waited before it was appended).
        ProduceException? late = null;
        Append(accumulator, partition, 0, (DeliveryHandler)((in DeliveryResult _, ProduceException? _, object? _) => { }));
        var a = Close(partition);
        Append(accumulator, partition, settings.Clock.Now - 1, (DeliveryHandler)((in DeliveryResult _, ProduceException? error, object? _) => late = error));
        var b = Close(partition);
        Append(accumulator, partition, 0, (DeliveryHandler)((in DeliveryResult _, ProduceException? _, object? _) => { }));
        var c = Close(partition);
        lock (partition.Sync)
        {
            foreach (var batch in new[] { a, b, c })
            {
                partition.Queue.RemoveFirst();
                Assert.True(idempotence.CanDrain(partition, batch));
                idempotence.AssignSequence(partition, batch);
                batch.Attempts++;
            }

            foreach (var batch in new[] { c, a, b })
            {
                partition.Queue.InsertInSequenceOrder(batch);
            }
        }

        accumulator.ExpireQueued(settings.Clock.Now, []);

        Assert.Equal(ProduceErrorKind.DeliveryTimeout, late?.Kind);
        Assert.Equal(2, partition.Queue.Count);
        Assert.Same(a, partition.Queue[0]);
        Assert.Same(c, partition.Queue[1]);
        Assert.Equal([a, c], partition.Sequences.Unacked);

        // b may or may not have been written: the partition is unresolved past it, and a still goes first.
        Assert.Equal(2, partition.Sequences.UnresolvedNextSequence);
        Assert.True(idempotence.CanDrain(partition, a));
        Assert.False(idempotence.CanDrain(partition, c));
    }

    [Fact]
    public void An_open_batch_past_its_deadline_expires_while_a_batch_ahead_of_it_still_has_time()
    {
        var (settings, accumulator, partition) = NewAccumulator(new IdempotenceState());

        // A full batch waits in the queue with its whole delivery timeout ahead of it.
        Append(accumulator, partition, 0);
        lock (partition.Sync)
        {
            RecordAccumulator.CloseOpenBatch(partition, partition.Open!);
        }

        // A record that waited (for memory or metadata) until its deadline had passed opens the next batch.
        ProduceException? outcome = null;
        DeliveryHandler handler = (in DeliveryResult _, ProduceException? error, object? _) => outcome = error;
        Append(accumulator, partition, settings.Clock.Now - 1, handler);

        accumulator.ExpireQueued(settings.Clock.Now, []);

        Assert.Null(partition.Open);
        Assert.Equal(1, partition.Queue.Count);
        Assert.Equal(ProduceErrorKind.DeliveryTimeout, outcome?.Kind);
        Assert.Equal(1, accumulator.IncompleteCount);
    }

    /// <summary>An accumulator (batch size 4 KB, linger 5 ms) with one topic "t" of one partition.</summary>
    [Fact]
    public void The_timeout_error_of_a_batch_in_flight_says_its_records_may_have_been_written()
    {
        var (settings, accumulator, partition) = NewAccumulator(new IdempotenceState());
        Append(accumulator, partition, 0);
        var batch = Close(partition);
        Assert.Contains("they were never sent", ProducerErrors.DeliveryTimeout(partition.TopicPartition, batch, settings).Message);

        batch.Attempts = 1; // sent, its request unanswered when the deadline passed
        var inFlight = ProducerErrors.DeliveryTimeout(partition.TopicPartition, batch, settings).Message;
        Assert.Contains("may or may not have been written", inFlight);
        Assert.DoesNotContain("never sent", inFlight);
    }

    private static (ProducerSettings Settings, RecordAccumulator Accumulator, PartitionState Partition) NewAccumulator(IdempotenceState idempotence)
    {
        var settings = new ProducerSettings(new KafkaProducerOptions { BootstrapServers = "localhost:9092", BatchSize = 4096, Linger = TimeSpan.FromMilliseconds(5) });
        var accumulator = new RecordAccumulator(settings, new BufferPool(settings.BufferMemory, settings.BatchSize), idempotence,
            new ProducerLog(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));
        var topic = accumulator.GetOrAddTopic("t");
        topic.EnsurePartitions(1);
        return (settings, accumulator, topic.Partitions[0]);
    }

    private static void Append(RecordAccumulator accumulator, PartitionState partition, long callDeadlineTicks, object? target = null) =>
        Assert.Equal(AppendStatus.Appended, accumulator.TryAppend(partition, 1, "k"u8, "v"u8, default, RecordNulls.None, target, null, false,
            ProducerBatch.MaxRecordSize(1, 1, default), callDeadlineTicks, out _));

    private static ProducerBatch Close(PartitionState partition)
    {
        lock (partition.Sync)
        {
            var open = partition.Open!;
            RecordAccumulator.CloseOpenBatch(partition, open);
            return open;
        }
    }
}
