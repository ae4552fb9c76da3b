using System.Reflection;
using Messaging.Cluster;
using Messaging.Consumer;

namespace Messaging.Core.Tests.Consumer;

/// <summary>
/// A partition held at no position (its start could not be found) whose queued error a pause dropped is neither held
/// silently after the resume: its start is looked up again, or its error queued again.
/// </summary>
public sealed class HeldStartPauseTests
{
    private static readonly TopicPartition Partition = new(ConsumerTestData.Topic, 0);

    [Fact]
    public async Task A_pause_that_drops_a_failed_start_lookup_looks_the_start_up_again_on_resume()
    {
        await using var consumer = new KafkaConsumer(new KafkaConsumerOptions { BootstrapServers = "localhost:9092", RetryBackoff = TimeSpan.FromHours(1) });
        consumer.Assign([new TopicPartitionOffset(Partition, OffsetSpec.Earliest)]);
        var cursors = Field<PartitionCursors>(consumer.Fetcher, "_cursors");
        var buffer = Field<FetchBuffer>(consumer.Fetcher, "_buffer");
        var maintenance = Field<FetchMaintenance>(consumer.Fetcher, "_maintenance");
        var cursor = cursors.All[0];

        // The lookup of the earliest offset fails for good (as the maintenance loop would take its answer): the error is
        // queued and the partition held.
        List<(PartitionCursor Cursor, CursorGeneration Generation, OffsetSpec Start)> entries;
        lock (cursors.Sync)
        {
            cursor.InFlight = true;
            entries = [(cursor, cursor.Generation, OffsetSpec.Earliest)];
        }

        var answers = new Dictionary<TopicPartition, OffsetLookupResult>
        {
            [Partition] = OffsetLookupResult.Failed(new KafkaErrorException(ErrorCode.TopicAuthorizationFailed, "not allowed"), retriable: false),
        };
        typeof(FetchMaintenance).GetMethod("ApplyStartOffsets", BindingFlags.NonPublic | BindingFlags.Instance)!.Invoke(maintenance, [entries, answers]);
        lock (cursors.Sync)
        {
            Assert.Equal(CursorState.Held, cursor.State);
        }

        // The application pauses before it reached the error (which the pause drops), then resumes.
        consumer.Pause([Partition]);
        consumer.Resume([Partition]);
        Assert.False(TakeCurrentError(buffer, cursor), "the dropped error came back by itself");

        // Nothing of the partition is queued: its start is looked up again, where a lasting failure is met and reported.
        lock (cursors.Sync)
        {
            Assert.Equal(CursorState.Resetting, cursor.State);
            Assert.True(cursor.PendingReset.IsEarliest);
        }
    }

    [Fact(Timeout = 10_000)] // without the error queued again, the consume call waits for ever
    public async Task A_pause_before_the_first_poll_keeps_the_error_of_a_partition_added_held()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var consumer = new KafkaConsumer(new KafkaConsumerOptions { BootstrapServers = "localhost:9092", RetryBackoff = TimeSpan.FromHours(1) });
        var cursors = Field<PartitionCursors>(consumer.Fetcher, "_cursors");

        // A group assignment found no committed offset, and auto.offset.reset is error: the partition comes held.
        consumer.Fetcher.AddFailed(Partition, new ConsumeException("no committed offset", ConsumeErrorKind.OffsetOutOfRange, Partition, -1));

        // The application pauses it before its first poll (which drops the queued error), then resumes it.
        consumer.Pause([Partition]);
        consumer.Resume([Partition]);

        // The error comes again, in the partition's order: held and silent, the partition would never be read.
        var error = await Assert.ThrowsAsync<ConsumeException>(async () => await consumer.ConsumeBatchAsync(ct));
        Assert.Equal("no committed offset", error.Message);
        lock (cursors.Sync)
        {
            Assert.Equal(CursorState.Held, cursors.All[0].State);
        }
    }

    private static T Field<T>(Fetcher fetcher, string name) =>
        (T)typeof(Fetcher).GetField(name, BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(fetcher)!;

    /// <summary>Takes everything queued; true if an error of the cursor's current generation was among it.</summary>
    private static bool TakeCurrentError(FetchBuffer buffer, PartitionCursor cursor)
    {
        var found = false;
        while (buffer.TryTake(out var chunk))
        {
            found |= chunk.Error is not null && chunk.Generation == cursor.Generation;
            buffer.Done(chunk);
        }

        return found;
    }
}
