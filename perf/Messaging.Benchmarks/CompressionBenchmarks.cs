using BenchmarkDotNet.Attributes;
using Messaging.Compression;

namespace Messaging.Benchmarks;

/// <summary>
/// Decompressing the records section of the standard 1,000-record batch (about 120 KB) into a reused
/// <see cref="DecompressionBuffer"/>: lz4 and zstd allocate 0 B after the first call.
/// </summary>
[MemoryDiagnoser]
public class CompressionBenchmarks
{
    private byte[] _compressed = [];
    private DecompressionBuffer _buffer = null!;
    private ICompressionCodec _codec = null!;

    [Params(CompressionType.Lz4, CompressionType.Zstd, CompressionType.Snappy)]
    public CompressionType Codec { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        byte[] batch = BenchmarkData.Batch(CompressionType.None);
        byte[] records = batch.AsSpan(61).ToArray();
        _codec = CompressionCodecs.Get(Codec);
        var writer = new System.Buffers.ArrayBufferWriter<byte>();
        _codec.Compress(records, writer, _codec.DefaultLevel);
        _compressed = writer.WrittenSpan.ToArray();
        _buffer = new DecompressionBuffer(1 << 20);
    }

    [GlobalCleanup]
    public void Cleanup() => _buffer.Dispose();

    [Benchmark]
    public int Decompress()
    {
        _buffer.Reset();
        return _codec.Decompress(_compressed, _buffer, int.MaxValue, 0);
    }
}
