using System.Buffers.Binary;
using BenchmarkDotNet.Attributes;
using Messaging.Connection;
using Messaging.Consumer;
using Messaging.Pools;
using Messaging.Records;

namespace Messaging.Benchmarks;

/// <summary>
/// The consumer's hot path without the network: one fetched partition of 8 batches × 1,000 records (16-byte keys,
/// 100-byte values) decoded by the consuming side — CRC check, decompression into pooled buffers, records into pooled
/// slices of 500 — delivered as <see cref="ConsumeBatch"/>es whose records are read (offset, value length) and then
/// disposed, so every buffer goes back to its pool. Reported per record (OperationsPerInvoke = 8,000). Target with
/// pools on: no allocation per record; pools off shows what the pools save.
/// </summary>
[MemoryDiagnoser]
public class ConsumerDecodeBenchmarks
{
    private const int Batches = 8;
    private const int Records = Batches * BenchmarkData.RecordCount;
    private readonly ReusedFrame _frames = new();
    private byte[] _data = [];
    private PartitionCursor _cursor = null!;
    private ChunkDecoder _decoder = null!;
    private IRecordPool _records = null!;
    private IRecordSlicePool _slices = null!;

    [Params(CompressionType.None, CompressionType.Lz4)]
    public CompressionType Compression { get; set; }

    [Params(true, false)]
    public bool Pools { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var batch = BenchmarkData.Batch(Compression);
        _data = new byte[batch.Length * Batches];
        for (int i = 0; i < Batches; i++)
        {
            batch.CopyTo(_data, i * batch.Length);
            BinaryPrimitives.WriteInt64BigEndian(_data.AsSpan(i * batch.Length), (long)i * BenchmarkData.RecordCount);
        }

        _frames.Data = _data;
        _cursor = new PartitionCursor(new TopicPartition("bench", 0));
        var decompression = Pools ? new DecompressionBufferPool() : NoPooling.DecompressionBuffers;
        _records = Pools ? new RecordPool() : NoPooling.Records;
        _slices = Pools ? new RecordSlicePool() : NoPooling.RecordSlices;
        _decoder = new ChunkDecoder(RecordDecoderOptions.Default, readCommitted: false, new PooledDecompressionWriter(decompression, RecordDecoderOptions.DefaultMaxDecompressedBatchBytes));
    }

    [Benchmark(OperationsPerInvoke = Records)]
    public long ConsumeBatches()
    {
        var frame = SharedBuffer.ForFrame(ResponseFrame.Wrap(_frames.TryRent(_data.Length)!, _data.Length, _frames));
        var chunk = FetchedPartition.ForData(_cursor, _cursor.Generation, 0, frame.Memory, frame, null);
        _decoder.Start(chunk);
        long sum = 0;
        while (!_decoder.IsDone)
        {
            var slice = RecordSlice.Rent(_records, _slices, 500, _cursor.TopicPartition, _cursor, _cursor.Generation);
            _decoder.Decode(slice);
            slice.Seal();
            if (slice.Count == 0)
            {
                continue;
            }

            using var batch = new ConsumeBatch(slice);
            foreach (ref readonly var record in batch.Records)
            {
                sum += record.Offset + record.Value.Length;
            }
        }

        _decoder.Stop();
        chunk.Frame!.Release();
        chunk.Recycle();
        return sum;
    }

    /// <summary>Stands in for the connection's frame: the same bytes every time.</summary>
    private sealed class ReusedFrame : IResponseBufferPool
    {
        public byte[] Data { get; set; } = [];

        public byte[]? TryRent(int length) => Data;

        public void Return(byte[] buffer)
        {
        }
    }
}
