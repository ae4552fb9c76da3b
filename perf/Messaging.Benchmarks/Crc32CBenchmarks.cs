using BenchmarkDotNet.Attributes;
using Messaging.Protocol;

namespace Messaging.Benchmarks;

/// <summary>CRC-32C throughput on 1 MiB: the hardware path (3-way interleaved) and the slicing-by-8 fallback. Target: 8 GB/s.</summary>
[MemoryDiagnoser]
public class Crc32CBenchmarks
{
    private readonly byte[] _data = new byte[1 << 20];

    [GlobalSetup]
    public void Setup() => new Random(1).NextBytes(_data);

    [Benchmark(Baseline = true)]
    public uint Hardware() => Crc32C.Compute(_data);

    [Benchmark]
    public uint Software() => ~Crc32C.UpdateSoftware(0xFFFFFFFFu, _data);
}
