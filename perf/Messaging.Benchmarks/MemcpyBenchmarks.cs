using BenchmarkDotNet.Attributes;

namespace Messaging.Benchmarks;

/// <summary>Copying 1 MiB: the physical limit that CRC, decode and decompression throughputs compare against.</summary>
[MemoryDiagnoser]
public class MemcpyBenchmarks
{
    private readonly byte[] _source = new byte[1 << 20];
    private readonly byte[] _destination = new byte[1 << 20];

    [Benchmark(Baseline = true)]
    public void SpanCopyTo() => _source.AsSpan().CopyTo(_destination);

    [Benchmark]
    public unsafe void BufferMemoryCopy()
    {
        fixed (byte* s = _source)
        fixed (byte* d = _destination)
        {
            Buffer.MemoryCopy(s, d, _destination.Length, _source.Length);
        }
    }
}
