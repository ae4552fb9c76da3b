using System.Text;
using Messaging.Consumer;
using Messaging.Pools;
using static Messaging.Core.Tests.Consumer.ConsumerTestData;

namespace Messaging.Core.Tests.Consumer;

/// <summary>Records and batches over pooled memory: version stamps catch use after recycling; the last release frees everything.</summary>
public sealed class RecordLifetimeTests
{
    private static (RecordSlice Slice, FetchedPartition Chunk, CountingResponsePool Frames) Decode(int records, IRecordPool? pool = null)
    {
        var frames = new CountingResponsePool();
        var cursor = new PartitionCursor(new TopicPartition(Topic, 0));
        var chunk = Chunk(Batch(0, records, o => "v" + o), 0, cursor, frames);
        var decoder = Decoder();
        decoder.Start(chunk);
        var slice = RecordSlice.Rent(pool ?? new RecordPool(), new RecordSlicePool(), records, cursor.TopicPartition, cursor, cursor.Generation);
        decoder.Decode(slice);
        slice.Seal();
        decoder.Stop();
        Done(chunk); // the slice still holds the frame
        return (slice, chunk, frames);
    }

    [Fact]
    public void A_recycled_record_throws_instead_of_reading_another_batchs_bytes()
    {
        var pool = new RecordPool();
        var (slice, _, frames) = Decode(3, pool);
        var batch = new ConsumeBatch(slice);
        var record = batch.Records[1];
        var copy = record;
        Assert.Equal("v1", Encoding.UTF8.GetString(record.Value.Span));
        record.Recycle();
        Assert.True(copy.IsRecycled);
        Assert.Throws<ObjectDisposedException>(() => copy.Value);
        Assert.Throws<ObjectDisposedException>(() => copy.Offset);
        Assert.Throws<ObjectDisposedException>(() => copy.Recycle());
        Assert.Equal(0, frames.Returns); // two records still hold the frame

        batch.Dispose();
        Assert.True(batch.IsDisposed);
        Assert.Equal(1, frames.Returns);
        Assert.Throws<ObjectDisposedException>(() => batch.Records.Length);
        batch.Dispose(); // idempotent

        // The record objects are reused by the next batch: the stale handle still refuses to read them.
        var (next, _, _) = Decode(3, pool);
        var reused = new ConsumeBatch(next);
        Assert.Equal("v1", Encoding.UTF8.GetString(reused.Records[1].Value.Span));
        Assert.Throws<ObjectDisposedException>(() => copy.Value);
        Assert.Throws<ObjectDisposedException>(() => batch.Records.Length);
        reused.Dispose();
    }

    [Fact]
    public void Recycling_every_record_one_by_one_frees_the_batch()
    {
        var (slice, _, frames) = Decode(4);
        var batch = new ConsumeBatch(slice);
        var records = batch.Records.ToArray();
        foreach (var record in records)
        {
            Assert.Equal(0, frames.Returns);
            record.Recycle();
        }

        Assert.Equal(1, frames.Returns);
        Assert.True(batch.IsDisposed);
        batch.Dispose();
        Assert.Equal(1, frames.Returns);
    }

    [Fact]
    public void A_default_handle_is_not_a_record()
    {
        ConsumedRecord record = default;
        Assert.True(record.IsRecycled);
        Assert.Throws<ObjectDisposedException>(() => record.Key);
        Assert.Throws<ObjectDisposedException>(() => record.Recycle());
        ConsumeBatch batch = default;
        Assert.True(batch.IsDisposed);
        batch.Dispose();
    }

    [Fact]
    public void Releasing_more_often_than_referenced_is_caught()
    {
        var (slice, _, _) = Decode(2);
        slice.RecycleOwned();
        Assert.Throws<InvalidOperationException>(() => slice.Release(1));
    }
}
