using System.Reflection;
using Messaging.Consumer;
using Messaging.Threading;

namespace Messaging.Core.Tests.Consumer;

/// <summary>A start lookup that fails after its partition was sought delays only the start it was for, not the position sought.</summary>
public sealed class StartLookupSeekTests
{
    private static readonly TopicPartition Partition = new(ConsumerTestData.Topic, 0);

    [Fact]
    public async Task A_partition_sought_while_its_start_lookup_was_out_is_not_held_back_by_that_lookups_failure()
    {
        await using var consumer = new KafkaConsumer(new KafkaConsumerOptions { BootstrapServers = "localhost:9092", RetryBackoff = TimeSpan.FromHours(1) });
        consumer.Assign([new TopicPartitionOffset(Partition, OffsetSpec.Earliest)]);
        var cursors = (PartitionCursors)typeof(Fetcher).GetField("_cursors", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(consumer.Fetcher)!;
        var maintenance = typeof(Fetcher).GetField("_maintenance", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(consumer.Fetcher)!;
        var cursor = cursors.All[0];

        // The lookup of the earliest offset is out (as the maintenance loop takes it) when the application seeks.
        List<(PartitionCursor Cursor, CursorGeneration Generation, OffsetSpec Start)> entries;
        lock (cursors.Sync)
        {
            cursor.InFlight = true;
            entries = [(cursor, cursor.Generation, OffsetSpec.Earliest)];
        }

        consumer.Seek(Partition, OffsetSpec.At(42));

        // The lookup fails as a whole (metadata unreachable): the maintenance loop frees its cursors with the backoff.
        var retryAt = Clock.System.After(TimeSpan.FromHours(1));
        typeof(FetchMaintenance).GetMethod("Release", BindingFlags.NonPublic | BindingFlags.Instance)!.Invoke(maintenance, [entries, retryAt]);

        lock (cursors.Sync)
        {
            Assert.False(cursor.InFlight);
            Assert.True(cursor.RetryAt < retryAt, "the offset sought while the failed lookup was out waits that lookup's backoff");
            Assert.Equal(42, cursor.FetchOffset);
        }
    }
}
