using Messaging.Producer;
using Messaging.Records;

namespace Messaging.Core.Tests.Producer;

/// <summary>A record's outcome comes by its delivery deadline, also when its batch is still open behind queued ones.</summary>
public sealed class OpenBatchExpiryTests
{
    [Fact]
    public void An_open_batch_past_its_deadline_expires_while_a_batch_ahead_of_it_still_has_time()
    {
        var settings = new ProducerSettings(new KafkaProducerOptions { BootstrapServers = "localhost:9092", BatchSize = 4096, Linger = TimeSpan.FromMilliseconds(5) });
        var accumulator = new RecordAccumulator(settings, new BufferPool(settings.BufferMemory, settings.BatchSize), new IdempotenceState(),
            new ProducerLog(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));
        var topic = accumulator.GetOrAddTopic("t");
        topic.EnsurePartitions(1);
        var partition = topic.Partitions[0];

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

    private static void Append(RecordAccumulator accumulator, PartitionState partition, long callDeadlineTicks, object? target = null) =>
        Assert.Equal(AppendStatus.Appended, accumulator.TryAppend(partition, 1, "k"u8, "v"u8, default, RecordNulls.None, target, null, false,
            ProducerBatch.MaxRecordSize(1, 1, default), callDeadlineTicks, out _));
}
