using System.Diagnostics;
using Messaging.Producer;
using Messaging.Records;

namespace Messaging.Core.Tests.Producer;

public sealed class RecordAccumulatorTests
{
    private static (RecordAccumulator Accumulator, BufferPool Pool, PartitionState Partition) Create(int batchSize = 4096, long bufferMemory = 1024 * 1024, int lingerMs = 5, bool sendWhenIdle = true)
    {
        var settings = new ProducerSettings(new KafkaProducerOptions
        {
            BootstrapServers = "localhost:9092",
            BatchSize = batchSize,
            BufferMemory = bufferMemory,
            MaxRequestSize = (int)Math.Min(bufferMemory, 1024 * 1024),
            Linger = TimeSpan.FromMilliseconds(lingerMs),
            SendWhenIdle = sendWhenIdle,
        });
        var pool = new BufferPool(settings.BufferMemory, settings.BatchSize);
        var accumulator = new RecordAccumulator(settings, pool, new IdempotenceState(), new ProducerLog(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));
        var topic = accumulator.GetOrAddTopic("t");
        topic.EnsurePartitions(2);
        return (accumulator, pool, topic.Partitions[0]);
    }

    private static AppendStatus Append(RecordAccumulator accumulator, PartitionState partition, int valueSize, bool abortOnNewBatch = false, long callDeadlineTicks = 0) =>
        accumulator.TryAppend(partition, 1, "k"u8, new byte[valueSize], default, RecordNulls.None, null, null, abortOnNewBatch,
            ProducerBatch.MaxRecordSize(1, valueSize, default), callDeadlineTicks, out _);

    [Fact]
    public void Records_fill_one_batch_until_batch_size_then_the_full_batch_is_queued()
    {
        var (accumulator, _, partition) = Create(batchSize: 4096);
        var appended = 0;
        while (partition.Queue.Count == 0)
        {
            Assert.Equal(AppendStatus.Appended, Append(accumulator, partition, 100));
            appended++;
        }

        var full = partition.Queue.PeekFirst()!;
        Assert.True(full.Length <= 4096);
        Assert.Equal(appended - 1, full.Count);
        Assert.Equal(1, partition.Open!.Count);
        Assert.Equal(2, accumulator.IncompleteCount);
    }

    [Fact]
    public void With_abort_on_new_batch_a_full_batch_is_closed_and_the_record_is_handed_back()
    {
        var (accumulator, _, partition) = Create(batchSize: 1024);
        while (Append(accumulator, partition, 100, abortOnNewBatch: true) == AppendStatus.Appended)
        {
        }

        Assert.Equal(1, partition.Queue.Count);
        Assert.Null(partition.Open);
        Assert.Equal(AppendStatus.Appended, Append(accumulator, partition, 100, abortOnNewBatch: false));
        Assert.NotNull(partition.Open);
    }

    [Fact]
    public void Without_memory_a_new_batch_waits_and_the_buffer_the_caller_got_is_used()
    {
        var (accumulator, pool, partition) = Create(batchSize: 4096, bufferMemory: 4096);
        Assert.Equal(AppendStatus.Appended, Append(accumulator, partition, 2000));
        Assert.Equal(AppendStatus.NeedsMemory, Append(accumulator, partition, 3000));
        var queued = partition.Queue.RemoveFirst();
        pool.Return(queued.Recycle());
        var buffer = pool.TryRent(4096)!;
        accumulator.AppendWithBuffer(partition, buffer, 1, "k"u8, new byte[3000], default, RecordNulls.None, null, null, ProducerBatch.MaxRecordSize(1, 3000, default), 0, out _);
        Assert.Same(buffer, partition.Open!.Buffer);
    }

    [Fact]
    public void A_record_that_waited_brings_its_batch_deadline_forward_to_its_own()
    {
        var (accumulator, _, partition) = Create(batchSize: 4096);
        Assert.Equal(AppendStatus.Appended, Append(accumulator, partition, 10));
        var open = partition.Open!;
        var deadline = open.DeadlineTicks;

        // A record produced as it is called keeps the batch's deadline; one that waited (its deadline counted from
        // its earlier call) brings it forward, and a later deadline never pushes it back.
        Assert.Equal(AppendStatus.Appended, Append(accumulator, partition, 10));
        Assert.Equal(deadline, open.DeadlineTicks);
        Assert.Equal(AppendStatus.Appended, Append(accumulator, partition, 10, callDeadlineTicks: deadline - 1000));
        Assert.Equal(deadline - 1000, open.DeadlineTicks);
        Assert.Equal(AppendStatus.Appended, Append(accumulator, partition, 10, callDeadlineTicks: deadline + 1000));
        Assert.Equal(deadline - 1000, open.DeadlineTicks);
    }

    [Fact]
    public void A_batch_started_by_a_record_that_waited_takes_the_records_deadline()
    {
        var (accumulator, _, partition) = Create(batchSize: 4096);
        var callDeadline = System.Diagnostics.Stopwatch.GetTimestamp() - 1; // the record waited its whole delivery timeout
        Assert.Equal(AppendStatus.Appended, Append(accumulator, partition, 10, callDeadlineTicks: callDeadline));
        Assert.Equal(callDeadline, partition.Open!.DeadlineTicks);
    }

    [Fact]
    public void An_open_batch_is_ready_after_linger_or_at_once_when_flushing()
    {
        var (accumulator, _, partition) = Create(lingerMs: 50);
        Append(accumulator, partition, 10);
        var open = partition.Open!;
        var wakeAt = long.MaxValue;
        Assert.False(accumulator.IsOpenBatchReady(open, open.CreatedTicks, senderIdle: false, ref wakeAt));
        Assert.Equal(open.CreatedTicks + (Stopwatch.Frequency / 20), wakeAt, tolerance: Stopwatch.Frequency / 1000);
        Assert.True(accumulator.IsOpenBatchReady(open, open.CreatedTicks + Stopwatch.Frequency, senderIdle: false, ref wakeAt));
        accumulator.BeginFlush();
        Assert.True(accumulator.IsOpenBatchReady(open, open.CreatedTicks, senderIdle: false, ref wakeAt));
        accumulator.EndFlush();
        wakeAt = long.MaxValue;
        Assert.False(accumulator.IsOpenBatchReady(open, open.CreatedTicks, senderIdle: false, ref wakeAt));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void An_open_batch_of_an_idle_sender_is_ready_at_once_only_when_send_when_idle_is_on(bool sendWhenIdle)
    {
        var (accumulator, _, partition) = Create(lingerMs: 50, sendWhenIdle: sendWhenIdle);
        Append(accumulator, partition, 10);
        var open = partition.Open!;
        var wakeAt = long.MaxValue;
        Assert.Equal(sendWhenIdle, accumulator.IsOpenBatchReady(open, open.CreatedTicks, senderIdle: true, ref wakeAt));
        Assert.False(accumulator.IsOpenBatchReady(open, open.CreatedTicks, senderIdle: false, ref wakeAt)); // in flight: it lingers
    }

    [Fact]
    public void A_closed_accumulator_refuses_appends()
    {
        var (accumulator, _, partition) = Create();
        accumulator.Close();
        Assert.Throws<ObjectDisposedException>(() => Append(accumulator, partition, 10));
    }

    [Fact]
    public async Task Flush_waits_for_the_batches_that_exist_and_not_for_later_ones()
    {
        var (accumulator, _, partition) = Create();
        Append(accumulator, partition, 10);
        var batch = partition.Open!;
        var pending = accumulator.IncompleteBatches();
        _ = Assert.Single(pending);
        Assert.False(pending[0].IsCompleted);
        batch.Complete(0, -1, new ProducerLog(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));
        Assert.False(pending[0].IsCompleted);
        Release(accumulator, batch, partition);
        await pending[0].WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
        Assert.Equal(0, accumulator.IncompleteCount);
        Assert.Empty(accumulator.IncompleteBatches());
    }

    [Fact]
    public void A_recycled_batch_is_not_waited_for_by_a_later_flush()
    {
        // Regression: a flush that looked at a batch after it was recycled waited for the object's next use.
        var (accumulator, _, partition) = Create();
        for (var round = 0; round < 100; round++)
        {
            Append(accumulator, partition, 10);
            var batch = partition.Open!;
            batch.Complete(round, -1, new ProducerLog(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));
            Release(accumulator, batch, partition);
            Assert.Empty(accumulator.IncompleteBatches());
        }
    }

    /// <summary>What the producer does with a completed batch: take it out of the partition, then release it (leave the registry, mark done, recycle).</summary>
    private static void Release(RecordAccumulator accumulator, ProducerBatch batch, PartitionState partition)
    {
        lock (partition.Sync)
        {
            partition.Open = null;
        }

        accumulator.Release(batch);
    }

    [Fact]
    public void The_next_batch_of_a_busy_partition_starts_at_the_size_the_last_one_reached()
    {
        var (accumulator, _, partition) = Create(batchSize: 64 * 1024);
        Assert.Equal(16 * 1024, accumulator.PreferredBufferSize(partition, 100));
        while (partition.Queue.Count == 0)
        {
            Append(accumulator, partition, 1000);
        }

        Assert.True(accumulator.PreferredBufferSize(partition, 100) > 60 * 1024);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_topic_dropped_as_idle_while_records_are_appended_to_it_never_takes_one_of_them_along()
    {
        var (accumulator, _, _) = Create();
        using var stop = new CancellationTokenSource();
        var retirements = 0;

        // Housekeeping drops the topic whenever it holds nothing (an idle time of 0) ...
        var housekeeping = Task.Run(
            () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    accumulator.RetireIdle(long.MaxValue / 2, 0, _ => Interlocked.Increment(ref retirements));
                }
            },
            TestContext.Current.CancellationToken);
        try
        {
            // ... while records keep coming, each taken out by "the sender" at once, until it has been dropped many times.
            var waited = Stopwatch.StartNew();
            for (var i = 0; i < 20_000 || Volatile.Read(ref retirements) < 100; i++)
            {
                Assert.True(waited.Elapsed < TimeSpan.FromSeconds(20), "Not seen within 20 s: the topic dropped as idle 100 times");
                var topic = accumulator.GetOrAddTopic("t");
                topic.EnsurePartitions(2); // its metadata, as the routing applies it
                var partition = topic.Partitions[i % 2];
                var status = Append(accumulator, partition, 10);
                if (status == AppendStatus.TopicRetired)
                {
                    continue; // dropped since it was looked up: the next look gets its new state
                }

                Assert.Equal(AppendStatus.Appended, status);
                ProducerBatch batch;
                lock (partition.Sync)
                {
                    Assert.False(topic.Retired, "a record was appended to a topic dropped as idle");
                    batch = partition.Open!;
                    partition.Open = null;
                }

                accumulator.Release(batch);
            }

        }
        finally
        {
            await stop.CancelAsync();
            await housekeeping;
        }

        Assert.DoesNotContain(accumulator.Topics, t => t.Retired);
        Assert.Equal(0, accumulator.IncompleteCount);
    }
}
