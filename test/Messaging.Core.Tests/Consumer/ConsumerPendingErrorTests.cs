using System.Reflection;
using Messaging.Consumer;
using static Messaging.Core.Tests.Consumer.ConsumerTestData;

namespace Messaging.Core.Tests.Consumer;

/// <summary>A failure the decoder found after records it delivered is raised on the next call, unless the partition moved on meanwhile.</summary>
public sealed class ConsumerPendingErrorTests
{
    [Fact]
    public async Task A_corruption_found_before_a_seek_is_not_raised_after_it()
    {
        var ct = TestContext.Current.CancellationToken;
        var partition = new TopicPartition(Topic, 0);
        await using var consumer = new KafkaConsumer(new KafkaConsumerOptions { BootstrapServers = "localhost:9092", RetryBackoff = TimeSpan.FromHours(1) });
        consumer.Assign([new TopicPartitionOffset(partition, 0)]);
        var cursors = (PartitionCursors)typeof(Fetcher).GetField("_cursors", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(consumer.Fetcher)!;
        var buffer = (FetchBuffer)typeof(Fetcher).GetField("_buffer", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(consumer.Fetcher)!;
        var cursor = cursors.All[0];
        var frames = new CountingResponsePool();

        // Records 0-4, then a batch whose checksum fails: the records come first, the error is kept for the next call.
        var corrupt = Batch(5, 5, o => "v" + o);
        corrupt[^2] ^= 1;
        buffer.Enqueue(Chunk(Concat(Batch(0, 5, o => "v" + o), corrupt), 0, cursor, frames));
        using (var first = await consumer.ConsumeBatchAsync(ct))
        {
            Assert.Equal(5, first.Count);
        }

        // The application seeks back before it asked again: the corruption belongs to data the seek dropped.
        consumer.Seek(partition, 0);
        buffer.Enqueue(Chunk(Batch(0, 5, o => "again" + o), 0, cursor, frames));
        using var second = await consumer.ConsumeBatchAsync(ct);
        Assert.Equal(5, second.Count);
        Assert.Equal("again0", System.Text.Encoding.UTF8.GetString(second.Records[0].Value.Span));
        Assert.Equal(5, consumer.Position(partition));
    }
}
