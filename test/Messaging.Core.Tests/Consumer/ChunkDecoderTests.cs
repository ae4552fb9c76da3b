using Messaging.Consumer;
using Messaging.Pools;
using Messaging.Records;
using static Messaging.Core.Tests.Consumer.ConsumerTestData;

namespace Messaging.Core.Tests.Consumer;

/// <summary>The consuming side's decoding of one partition's fetched data: offsets, control batches, aborted transactions, codecs, corruption.</summary>
public sealed class ChunkDecoderTests
{
    private static string V(long offset) => "v" + offset;

    [Fact]
    public void Records_and_batches_before_the_fetch_offset_are_skipped()
    {
        var data = Concat(Batch(0, 5, V), Batch(5, 5, V), Batch(10, 5, V));
        var (records, next) = DecodeAll(data, fetchOffset: 7);
        Assert.Equal(Enumerable.Range(7, 8).Select(i => (long)i), records.Select(r => r.Offset));
        Assert.Equal(Enumerable.Range(7, 8).Select(i => "v" + i), records.Select(r => r.Value));
        Assert.Equal(15, next);
    }

    [Theory]
    [InlineData(CompressionType.None)]
    [InlineData(CompressionType.Gzip)]
    [InlineData(CompressionType.Snappy)]
    [InlineData(CompressionType.Lz4)]
    [InlineData(CompressionType.Zstd)]
    public void Every_codec_decodes_with_null_values_across_slices(CompressionType codec)
    {
        var data = Concat(Batch(0, 40, o => o % 9 == 4 ? null : V(o), codec), Batch(40, 25, V, codec));
        var (records, next) = DecodeAll(data, sliceCapacity: 6);
        Assert.Equal(Enumerable.Range(0, 65).Select(i => (long)i), records.Select(r => r.Offset));
        Assert.Equal(Enumerable.Range(0, 65).Select(i => i % 9 == 4 && i < 40 ? null : "v" + i), records.Select(r => r.Value));
        Assert.Equal(65, next);
    }

    [Fact]
    public void A_partial_batch_at_the_end_is_left_for_the_next_fetch()
    {
        var whole = Concat(Batch(0, 5, V), Batch(5, 5, V));
        var cut = whole.AsSpan(0, whole.Length - 7).ToArray();
        var (records, next) = DecodeAll(cut);
        Assert.Equal(5, records.Count);
        Assert.Equal(5, next);
    }

    [Fact]
    public void Control_batches_never_surface_and_the_position_passes_them()
    {
        var data = Concat(Transactional(0, 7, "a", "b"), Marker(2, 7, ControlRecordType.Commit), Batch(3, 2, V), Marker(5, 7, ControlRecordType.Commit));
        foreach (bool readCommitted in new[] { false, true })
        {
            var (records, next) = DecodeAll(data, readCommitted: readCommitted);
            Assert.Equal([0L, 1, 3, 4], records.Select(r => r.Offset));
            Assert.Equal(6, next);
        }
    }

    [Fact]
    public void Read_committed_hides_aborted_transactions_of_interleaved_producers()
    {
        // Producer 1: committed, then aborted (two batches), then committed again. Producer 2: aborted, interleaved.
        var data = Concat(
            Transactional(0, 1, "p1-c1", "p1-c2"),
            Transactional(2, 2, "p2-a1"),
            Marker(3, 1, ControlRecordType.Commit),
            Transactional(4, 1, "p1-a1"),
            Transactional(5, 2, "p2-a2"),
            Transactional(6, 1, "p1-a2"),
            Marker(7, 2, ControlRecordType.Abort),
            Batch(8, 1, V), // non-transactional, visible either way
            Marker(9, 1, ControlRecordType.Abort),
            Transactional(10, 1, "p1-c3"),
            Marker(11, 1, ControlRecordType.Commit));
        var aborted = new[] { Aborted(1, 4), Aborted(2, 2) }; // unsorted on purpose

        var (committed, next) = DecodeAll(data, readCommitted: true, aborted: aborted, sliceCapacity: 2);
        Assert.Equal(["p1-c1", "p1-c2", "v8", "p1-c3"], committed.Select(r => r.Value));
        Assert.Equal([0L, 1, 8, 10], committed.Select(r => r.Offset));
        Assert.Equal(12, next);

        var (everything, _) = DecodeAll(data, readCommitted: false, aborted: aborted);
        Assert.Equal(["p1-c1", "p1-c2", "p2-a1", "p1-a1", "p2-a2", "p1-a2", "v8", "p1-c3"], everything.Select(r => r.Value));

        // Without the broker's aborted list (the embedded broker sends none) nothing can be hidden.
        var (noList, _) = DecodeAll(data, readCommitted: true, aborted: []);
        Assert.Equal(8, noList.Count);
    }

    [Fact]
    public void An_aborted_transaction_starting_before_the_fetch_offset_is_still_hidden()
    {
        var data = Concat(Transactional(0, 3, "x0", "x1"), Transactional(2, 3, "x2"), Marker(3, 3, ControlRecordType.Abort), Transactional(4, 3, "ok"), Marker(5, 3, ControlRecordType.Commit));
        var (records, next) = DecodeAll(data, fetchOffset: 2, readCommitted: true, aborted: [Aborted(3, 0)]);
        Assert.Equal(["ok"], records.Select(r => r.Value));
        Assert.Equal(6, next);
    }

    [Fact]
    public void A_crc_mismatch_is_raised_after_the_records_before_it_with_the_offset()
    {
        var bad = Batch(5, 5, V);
        bad[^2] ^= 1;
        var data = Concat(Batch(0, 5, V), bad, Batch(10, 5, V));
        var frames = new CountingResponsePool();
        var cursor = new PartitionCursor(new TopicPartition(Topic, 3));
        var chunk = Chunk(data, 0, cursor, frames);
        var decoder = Decoder();
        decoder.Start(chunk);
        var slice = RecordSlice.Rent(NoPooling.Records, NoPooling.RecordSlices, 100, cursor.TopicPartition, cursor, cursor.Generation);
        decoder.Decode(slice);
        slice.Seal();
        Assert.Equal(5, slice.Count);
        var error = decoder.PendingError;
        Assert.NotNull(error);
        Assert.Equal(ConsumeErrorKind.CorruptRecord, error.Kind);
        Assert.Equal(new TopicPartition(Topic, 3), error.TopicPartition);
        Assert.Equal(5, error.Offset);
        Assert.Contains("unit/3", error.Message, StringComparison.Ordinal);
        Assert.Contains("checksum", error.Message, StringComparison.Ordinal);
        slice.RecycleOwned();
        decoder.Stop();
        Done(chunk);
        Assert.Equal(frames.Rents, frames.Returns);

        // Checks off: the flipped byte is delivered as data.
        var (records, _) = DecodeAll(data, verifyCrc: false);
        Assert.Equal(15, records.Count);
    }

    [Fact]
    public void Data_without_a_complete_batch_is_reported_as_truncated()
    {
        var batch = Batch(0, 5, V);
        var error = Assert.Throws<ConsumeException>(() => DecodeAll(batch.AsSpan(0, batch.Length - 3).ToArray()));
        Assert.Equal(0, error.Offset);
        Assert.Contains("truncated", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Decompression_past_the_limit_is_corruption_and_returns_its_buffer()
    {
        var zeros = new string('0', 10_000);
        var data = Batch(0, 200, _ => zeros, CompressionType.Zstd); // 2 MB decompressed, tiny compressed
        var pool = new DecompressionBufferPool(new Messaging.Pools.BucketedPoolOptions { MinBucketSize = 4096, MaxBucketSize = 1 << 22, MaxRetainedPerBucket = 4, MaxRetainedBytes = 1 << 24 });
        var frames = new CountingResponsePool();
        var cursor = new PartitionCursor(new TopicPartition(Topic, 0));
        var chunk = Chunk(data, 0, cursor, frames);
        var decoder = Decoder(pool, maxDecompressed: 100_000);
        decoder.Start(chunk);
        var slice = RecordSlice.Rent(NoPooling.Records, NoPooling.RecordSlices, 10, cursor.TopicPartition, cursor, cursor.Generation);
        var error = Assert.Throws<ConsumeException>(() => decoder.Decode(slice));
        slice.Seal();
        decoder.Stop();
        Done(chunk);
        Assert.Contains("exceeds the limit of 100000 bytes", error.Message, StringComparison.Ordinal);
        Assert.Equal(pool.Statistics.Rents, pool.Statistics.Returns);
    }

    [Fact]
    public void Legacy_magic_1_messages_are_read()
    {
        var data = Concat(
            Records.LegacyMessageSetTests.Message(0, 1, 0, 1_000, null, "m0"u8.ToArray()),
            Records.LegacyMessageSetTests.Message(1, 1, 0, 1_001, "k"u8.ToArray(), "m1"u8.ToArray()),
            Records.LegacyMessageSetTests.Message(2, 0, 0, -1, null, null));
        var (records, next) = DecodeAll(data, fetchOffset: 1);
        Assert.Equal([(1L, "m1"), (2L, (string?)null)], records);
        Assert.Equal(3, next);
    }
}
