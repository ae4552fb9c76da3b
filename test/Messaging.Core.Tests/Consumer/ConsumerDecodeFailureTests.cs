using System.Reflection;
using Messaging.Consumer;
using Messaging.Pools;
using Messaging.Records;
using static Messaging.Core.Tests.Consumer.ConsumerTestData;

namespace Messaging.Core.Tests.Consumer;

/// <summary>A component failing while fetched data is decoded (a plugged-in pool) loses no records and keeps no buffer.</summary>
public sealed class ConsumerDecodeFailureTests
{
    [Fact]
    public async Task A_pool_failing_mid_chunk_holds_the_partition_where_the_application_stands_and_frees_the_half_filled_batch()
    {
        var ct = TestContext.Current.CancellationToken;
        var partition = new TopicPartition(Topic, 0);
        var decompression = new FailingDecompressionPool();
        var pools = new ConsumerPools(decompression, NoPooling.Records, NoPooling.RecordSlices, ConsumerPools.Shared.FetchResponses);
        await using var consumer = new KafkaConsumer(new KafkaConsumerOptions { BootstrapServers = "localhost:9092", MaxPollRecords = 3, RetryBackoff = TimeSpan.FromHours(1), Pools = pools });
        consumer.Assign([new TopicPartitionOffset(partition, 0)]);
        var cursors = (PartitionCursors)typeof(Fetcher).GetField("_cursors", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(consumer.Fetcher)!;
        var buffer = (FetchBuffer)typeof(Fetcher).GetField("_buffer", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(consumer.Fetcher)!;
        var cursor = cursors.All[0];
        var frames = new CountingResponsePool();

        // Records 0-4 plain, 5-9 compressed (the pool fails when asked for their buffer); the fetcher went on to 10-11.
        buffer.Enqueue(Chunk(Concat(Batch(0, 5, o => "v" + o), Batch(5, 5, o => "v" + o, CompressionType.Lz4)), 0, cursor, frames));
        buffer.Enqueue(Chunk(Batch(10, 2, o => "v" + o), 10, cursor, frames));
        using (var first = await consumer.ConsumeBatchAsync(ct))
        {
            Assert.Equal(3, first.Count);
        }

        // Records 3 and 4 were decoded into the next batch when the pool failed: none of it reached the application.
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await consumer.ConsumeBatchAsync(ct));
        Assert.Equal(3, consumer.Position(partition));
        Assert.Equal(1, frames.Returns); // the first chunk's frame: the half-filled batch let go of it

        // The partition is held at 3 (the data fetched past it is dropped), not carried on at 10.
        lock (cursors.Sync)
        {
            Assert.Equal(CursorState.Held, cursor.State);
        }

        consumer.Seek(partition, 3);
        buffer.Enqueue(Chunk(Batch(3, 2, o => "again" + o), 3, cursor, frames));
        using var again = await consumer.ConsumeBatchAsync(ct);
        Assert.Equal(3, again.Records[0].Offset);
    }

    /// <summary>Fails the first request for a decompression buffer, as a plugged-in pool may.</summary>
    private sealed class FailingDecompressionPool : IDecompressionBufferPool
    {
        private int _failed;

        public byte[] Rent(int compressedSize, CompressionType codec) =>
            Interlocked.Exchange(ref _failed, 1) == 0 ? throw new InvalidOperationException("the pool failed") : new byte[Math.Max(compressedSize * 4, 256)];

        public byte[] Grow(byte[] buffer, int usedLength, int minimumLength)
        {
            var larger = new byte[minimumLength];
            buffer.AsSpan(0, usedLength).CopyTo(larger);
            return larger;
        }

        public void Return(byte[] buffer)
        {
        }
    }
}
