using Messaging.Records;
using Xunit;

namespace Messaging.Core.Tests.Records;

/// <summary>
/// One small uncompressed batch written out by hand from the spec (message-format.html, 5.3.1 and 5.3.2), with its
/// CRC-32C computed by an independent bitwise implementation, so a bug shared by the encoder and decoder cannot pass.
/// </summary>
public sealed class RecordBatchGoldenTests
{
    private const long BaseTimestamp = 1_700_000_000_000; // 0x0000018BCFE56800

    private static readonly byte[] Golden =
    [
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // baseOffset 0
        0x00, 0x00, 0x00, 0x4A,                         // batchLength 74 (86 - 12)
        0xFF, 0xFF, 0xFF, 0xFF,                         // partitionLeaderEpoch -1
        0x02,                                           // magic 2
        0x21, 0x08, 0xAC, 0xE1,                         // crc: CRC-32C of the 65 bytes from attributes to the end
        0x00, 0x00,                                     // attributes: no compression, create time, not transactional, not control
        0x00, 0x00, 0x00, 0x01,                         // lastOffsetDelta 1
        0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x00, // baseTimestamp 1700000000000
        0x00, 0x00, 0x01, 0x8B, 0xCF, 0xE5, 0x69, 0x2C, // maxTimestamp 1700000000300
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, // producerId -1
        0xFF, 0xFF,                                     // producerEpoch -1
        0xFF, 0xFF, 0xFF, 0xFF,                         // baseSequence -1
        0x00, 0x00, 0x00, 0x02,                         // recordCount 2

        // Record 0: length 16, attributes 0, timestampDelta 0, offsetDelta 0, key "k", value "hello", 1 header h=v.
        0x20, 0x00, 0x00, 0x00, 0x02, 0x6B, 0x0A, 0x68, 0x65, 0x6C, 0x6C, 0x6F, 0x02, 0x02, 0x68, 0x02, 0x76,

        // Record 1: length 7, attributes 0, timestampDelta 300 (zig-zag 600 = D8 04), offsetDelta 1, null key, empty value, no headers.
        0x0E, 0x00, 0xD8, 0x04, 0x02, 0x01, 0x00, 0x00,
    ];

    [Fact]
    public void The_decoder_reads_the_hand_built_batch()
    {
        var reader = new RecordBatchReader(Golden);
        Assert.True(reader.TryReadNext(out RecordBatch batch));
        Assert.Equal(0, batch.BaseOffset);
        Assert.Equal(74, batch.BatchLength);
        Assert.Equal(-1, batch.PartitionLeaderEpoch);
        Assert.Equal(2, batch.Magic);
        Assert.Equal(0x2108ACE1u, batch.Crc);
        Assert.Equal(CompressionType.None, batch.Compression);
        Assert.Equal(TimestampType.CreateTime, batch.TimestampType);
        Assert.False(batch.IsTransactional);
        Assert.False(batch.IsControl);
        Assert.Equal(1, batch.LastOffsetDelta);
        Assert.Equal(1, batch.LastOffset);
        Assert.Equal(BaseTimestamp, batch.BaseTimestamp);
        Assert.Equal(BaseTimestamp + 300, batch.MaxTimestamp);
        Assert.Equal(-1, batch.ProducerId);
        Assert.Equal(-1, batch.ProducerEpoch);
        Assert.Equal(-1, batch.BaseSequence);
        Assert.Equal(2, batch.RecordCount);

        RecordReader records = batch.GetRecords();
        Assert.True(records.TryRead(out RecordView r0));
        Assert.Equal(0, r0.Offset);
        Assert.Equal(BaseTimestamp, r0.Timestamp);
        Assert.Equal("k"u8.ToArray(), r0.Key.ToArray());
        Assert.Equal("hello"u8.ToArray(), r0.Value.ToArray());
        Assert.Equal(1, r0.Headers.Count);
        foreach (RecordHeader h in r0.Headers)
        {
            Assert.Equal("h", h.Key);
            Assert.True(h.KeyEquals("h"u8));
            Assert.Equal("v"u8.ToArray(), h.Value.ToArray());
            Assert.False(h.IsValueNull);
        }

        Assert.True(records.TryRead(out RecordView r1));
        Assert.Equal(1, r1.Offset);
        Assert.Equal(BaseTimestamp + 300, r1.Timestamp);
        Assert.True(r1.IsKeyNull);
        Assert.False(r1.IsValueNull);
        Assert.True(r1.Value.IsEmpty);
        Assert.Equal(0, r1.Headers.Count);
        Assert.False(records.TryRead(out _));
        Assert.False(reader.TryReadNext(out _));
        Assert.False(reader.HasPartialBatch);
    }

    [Fact]
    public void The_builder_writes_exactly_the_hand_built_bytes()
    {
        using var builder = new RecordBatchBuilder();
        builder.Append(BaseTimestamp, "k"u8, "hello"u8, [new RecordHeader("h", "v"u8.ToArray())]);
        builder.Append(BaseTimestamp + 300, default, ReadOnlySpan<byte>.Empty, default, RecordNulls.Key);
        Assert.Equal(Golden, builder.Build().ToArray());
    }

    [Fact]
    public void Record_keys_are_slices_of_the_input_not_copies()
    {
        var memory = new ReadOnlyMemory<byte>(Golden);
        var reader = new RecordBatchReader(memory);
        Assert.True(reader.TryReadNext(out RecordBatch batch));
        RecordReader records = batch.GetRecords();
        Assert.True(records.TryRead(out RecordView r0));
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(r0.Value, out ArraySegment<byte> segment));
        Assert.Same(Golden, segment.Array);
        Assert.Equal(68, segment.Offset);
    }

    [Fact]
    public void A_wrong_crc_is_detected_and_can_be_ignored()
    {
        byte[] corrupt = (byte[])Golden.Clone();
        corrupt[^3] ^= 0x01; // a byte of record 1
        var e = Assert.Throws<Messaging.KafkaProtocolException>(() => new RecordBatchReader(corrupt).TryReadNext(out _));
        Assert.Equal("Crc", e.FieldName);
        Assert.Equal(17, e.Offset);

        var reader = new RecordBatchReader(corrupt, new RecordDecoderOptions { VerifyCrc = false });
        Assert.True(reader.TryReadNext(out _));

        // The partition leader epoch is outside the CRC: changing it keeps the batch valid.
        byte[] epoch = (byte[])Golden.Clone();
        epoch[15] = 7;
        Assert.True(new RecordBatchReader(epoch).TryReadNext(out RecordBatch b));
        Assert.Equal(-249, b.PartitionLeaderEpoch);
    }
}
