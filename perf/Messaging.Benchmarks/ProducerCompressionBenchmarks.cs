using BenchmarkDotNet.Attributes;
using Messaging.Compression;
using Messaging.Perf;
using Messaging.Protocol;
using Messaging.Records;

namespace Messaging.Benchmarks;

/// <summary>
/// Compressing what the producer compresses: the records section of a batch of the perf tool's distinct JSON-like
/// 100-byte values (null keys), at batch sizes of about 64 KB and 1 MB, with each codec's default level (lz4: the fast
/// compressor, as librdkafka's default level 0; zstd: level 3, librdkafka's default), into a reused writer.
/// Divide <see cref="Size"/> by the mean to get MB/s.
/// </summary>
[MemoryDiagnoser]
public class ProducerCompressionBenchmarks
{
    private byte[] _records = [];
    private ContiguousBufferWriter _destination = null!;
    private ICompressionCodec _codec = null!;

    [Params(CompressionType.Lz4, CompressionType.Zstd)]
    public CompressionType Codec { get; set; }

    [Params(64 * 1024, 1024 * 1024)]
    public int Size { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _records = RecordsSection(Size);
        _codec = CompressionCodecs.Get(Codec);
        _destination = new ContiguousBufferWriter(2 * Size);
    }

    [GlobalCleanup]
    public void Cleanup() => _destination.Dispose();

    /// <summary>The producer's path: the codec's frame into a reused writer.</summary>
    [Benchmark(Baseline = true)]
    public int Compress()
    {
        _destination.Clear();
        return _codec.Compress(_records, _destination, _codec.DefaultLevel);
    }

    /// <summary>LZ4 with every block on this thread (zstd: the same as <see cref="Compress"/>), to show what splitting a frame across threads gains.</summary>
    [Benchmark]
    public int CompressOnOneThread()
    {
        _destination.Clear();
        return Codec == CompressionType.Lz4
            ? Lz4Codec.Instance.Compress(_records, _destination, _codec.DefaultLevel, parts: 1)
            : _codec.Compress(_records, _destination, _codec.DefaultLevel);
    }

    /// <summary>The records section (everything after the 61-byte header) of a batch of about <paramref name="size"/> bytes.</summary>
    internal static byte[] RecordsSection(int size)
    {
        var payloads = Payloads.Create(distinct: true, valueSize: 100, keys: 0, headers: 0);
        using var builder = new RecordBatchBuilder(size + 1024);
        for (long i = 0; builder.UncompressedSize < size - 61 - 128; i++)
        {
            builder.Append(BenchmarkData.BaseTimestamp + i, ReadOnlySpan<byte>.Empty, payloads.Value(i), default, RecordNulls.Key);
        }

        return builder.Build().Span[61..].ToArray();
    }
}
