using System.Buffers.Binary;
using Messaging.Consumer;
using Messaging.Pools;
using Messaging.Records;
using static Messaging.Core.Tests.Consumer.ConsumerTestData;

namespace Messaging.Core.Tests.Consumer;

/// <summary>A batch whose checksum is right but whose records break part-way: the position follows what was delivered.</summary>
public sealed class ChunkDecoderCorruptRecordTests
{
    [Theory]
    [InlineData(CompressionType.None)]
    [InlineData(CompressionType.Zstd)]
    public void A_record_failing_inside_a_batch_leaves_the_position_after_the_records_delivered_before_it(CompressionType codec)
    {
        // The second batch declares one record more than it holds (the CRC is recomputed, so only decoding notices).
        var bad = Batch(5, 5, o => "v" + o, codec);
        BinaryPrimitives.WriteInt32BigEndian(bad.AsSpan(RecordBatchLayout.RecordCount), 6);
        Records.RecordTestHelpers.FixCrc(bad);
        var data = Concat(Batch(0, 5, o => "v" + o), bad);
        var frames = new CountingResponsePool();
        var buffers = new ReusingDecompressionPool();
        var cursor = new PartitionCursor(new TopicPartition(Topic, 0));
        var chunk = Chunk(data, 0, cursor, frames);
        var decoder = Decoder(buffers);
        decoder.Start(chunk);
        var slice = RecordSlice.Rent(NoPooling.Records, NoPooling.RecordSlices, 100, cursor.TopicPartition, cursor, cursor.Generation);
        decoder.Decode(slice);
        slice.Seal();

        // Records 0-9 were delivered; the failure is at 10 and the position must not go back behind delivered records.
        Assert.Equal(10, slice.Count);
        Assert.Equal(9, slice[9].Offset);
        Assert.Equal(10, slice.NextOffset);
        Assert.NotNull(decoder.PendingError);
        Assert.Equal(10, decoder.PendingError.Offset);
        Assert.Contains("offset 10", decoder.PendingError.Message, StringComparison.Ordinal);

        slice.RecycleOwned();
        decoder.Stop();
        Done(chunk);
        Assert.Equal(frames.Rents, frames.Returns);
        Assert.Equal(0, buffers.Outstanding);
    }

    [Fact]
    public void A_batch_at_the_largest_offset_is_corrupt_and_the_position_does_not_wrap()
    {
        // One record at base offset long.MaxValue (checksum right): the offset after it would be long.MinValue.
        byte[] last = Convert.FromHexString(
            "7FFFFFFFFFFFFFFF00000039FFFFFFFF025B75ED7000000000000000000000000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFFFFFF000000010E00000001020100");
        var data = Concat(Batch(0, 5, o => "v" + o), last);
        var frames = new CountingResponsePool();
        var cursor = new PartitionCursor(new TopicPartition(Topic, 0));
        var chunk = Chunk(data, 0, cursor, frames);
        var decoder = Decoder();
        decoder.Start(chunk);
        var slice = RecordSlice.Rent(NoPooling.Records, NoPooling.RecordSlices, 100, cursor.TopicPartition, cursor, cursor.Generation);
        decoder.Decode(slice);
        slice.Seal();

        Assert.Equal(5, slice.Count);
        Assert.Equal(5, slice.NextOffset);
        Assert.Equal(5, decoder.NextOffset);
        Assert.NotNull(decoder.PendingError);
        Assert.Equal(ConsumeErrorKind.CorruptRecord, decoder.PendingError.Kind);
        Assert.Equal(5, decoder.PendingError.Offset);

        slice.RecycleOwned();
        decoder.Stop();
        Done(chunk);
        Assert.Equal(frames.Rents, frames.Returns);
    }
}
