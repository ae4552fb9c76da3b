using System.Reflection;
using Messaging.Consumer;
using Messaging.Pools;
using Messaging.Records;
using static Messaging.Core.Tests.Consumer.ConsumerTestData;

namespace Messaging.Core.Tests.Consumer;

/// <summary>Disposing the consumer while the application is between records gives back what the current fetched data holds.</summary>
public sealed class ConsumerDisposeTests
{
    [Fact]
    public async Task Disposing_the_consumer_mid_enumeration_returns_the_fetched_frame_and_the_decompressed_batch()
    {
        var ct = TestContext.Current.CancellationToken;
        var decompression = new ReusingDecompressionPool();
        var pools = new ConsumerPools(decompression, NoPooling.Records, NoPooling.RecordSlices, ConsumerPools.Shared.FetchResponses);
        var consumer = new KafkaConsumer(new KafkaConsumerOptions { BootstrapServers = "localhost:9092", MaxPollRecords = 2, Pools = pools });
        var frames = new CountingResponsePool();
        var cursor = new PartitionCursor(new TopicPartition(Topic, 0));
        var chunk = Chunk(Batch(0, 10, o => "v" + o, CompressionType.Lz4), 0, cursor, frames);
        var buffer = (FetchBuffer)typeof(Fetcher).GetField("_buffer", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(consumer.Fetcher)!;
        buffer.Enqueue(chunk); // as a Fetch response would: the chunk holds the frame's only reference

        var records = consumer.ConsumeRawAsync(ct).GetAsyncEnumerator(ct);
        Assert.True(await records.MoveNextAsync());
        Assert.Equal(0, records.Current.Offset);
        records.Current.Recycle();

        await consumer.DisposeAsync(); // the application is between records: the chunk is half decoded
        await records.DisposeAsync(); // and stops enumerating

        Assert.Equal(1, frames.Rents);
        Assert.Equal(1, frames.Returns);
        Assert.Equal(0, decompression.Outstanding);
    }
}
