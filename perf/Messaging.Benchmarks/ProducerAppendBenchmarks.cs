using BenchmarkDotNet.Attributes;
using Messaging.Producer;
using Messaging.Records;
using Messaging.Testing;

namespace Messaging.Benchmarks;

/// <summary>
/// The producer's per-record cost, reported per record (OperationsPerInvoke = 100,000), on the embedded broker:
/// the whole pipeline (append, drain, encode, send, acknowledge, report) with 16-byte keys and 100-byte values,
/// acks=all, idempotent, linger 5 ms, batch.size 1,000,000; each invocation ends with a flush, so every record is
/// acknowledged. <see cref="Append"/> is the encode into a batch alone. Targets: 0 B per record for
/// <see cref="Append"/> and the span fire-and-forget path, at most 16 B with a delivery handler.
/// </summary>
[MemoryDiagnoser]
public class ProducerAppendBenchmarks
{
    private const int Records = 100_000;

    private static readonly DeliveryHandler Handler = static (in DeliveryResult result, ProduceException? error, object? state) =>
    {
        if (error is null)
        {
            ((Counter)state!).Delivered++;
        }
    };

    private readonly Counter _counter = new();
    private EmbeddedKafkaCluster _cluster = null!;
    private KafkaProducer _producer = null!;
    private ProducerBatch _batch = null!;
    private BufferPool _pool = null!;
    private byte[][] _keys = [];
    private byte[][] _values = [];
    private string _topic = "";

    [GlobalSetup]
    public void Setup()
    {
        (_keys, _values) = BenchmarkData.Payloads();
        _cluster = EmbeddedKafkaCluster.Start(1);
        _topic = "bench-" + Guid.NewGuid().ToString("N")[..8];
        _cluster.CreateTopic(_topic, 1);
        _producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = _cluster.BootstrapServers, ClientId = "bench" });
        for (var i = 0; i < 5; i++)
        {
            ProduceFireAndForget(); // pools, buffers, connections and JIT in their steady state
        }

        _pool = new BufferPool(64 * 1024 * 1024, 1_000_000);
        var topic = new TopicState("append", 0);
        topic.EnsurePartitions(1);
        _batch = ProducerBatch.Rent(topic.Partitions[0], _pool.TryRent(1 << 20)!, 1 << 20, 0, long.MaxValue);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _producer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _cluster.Dispose();
    }

    /// <summary>Encoding records into a batch (what an append does under the partition's lock), no I/O.</summary>
    [Benchmark(OperationsPerInvoke = BenchmarkData.RecordCount)]
    public int Append()
    {
        var topic = _batch.Partition;
        _pool.Return(_batch.Recycle());
        _batch = ProducerBatch.Rent(topic, _pool.TryRent(1 << 20)!, 1 << 20, 0, long.MaxValue);
        for (var i = 0; i < BenchmarkData.RecordCount; i++)
        {
            _batch.TryAppend(BenchmarkData.BaseTimestamp + i, _keys[i], _values[i], default, RecordNulls.None, null, null, _pool);
        }

        return _batch.Count;
    }

    /// <summary><c>Produce(topic, key, value)</c> with no handler, then a flush.</summary>
    [Benchmark(OperationsPerInvoke = Records)]
    public void ProduceFireAndForget()
    {
        for (var i = 0; i < Records; i++)
        {
            _producer.Produce(_topic, _keys[i % BenchmarkData.RecordCount], _values[i % BenchmarkData.RecordCount]);
        }

        _producer.FlushAsync().GetAwaiter().GetResult();
    }

    /// <summary><c>Produce(topic, key, value, handler, state)</c> with a cached handler, then a flush.</summary>
    [Benchmark(OperationsPerInvoke = Records)]
    public long ProduceWithHandler()
    {
        for (var i = 0; i < Records; i++)
        {
            _producer.Produce(_topic, _keys[i % BenchmarkData.RecordCount], _values[i % BenchmarkData.RecordCount], Handler, _counter);
        }

        _producer.FlushAsync().GetAwaiter().GetResult();
        return _counter.Delivered;
    }

    /// <summary><c>ProduceAsync</c>, 10,000 awaited at a time (each window waits out at least one linger).</summary>
    [Benchmark(OperationsPerInvoke = Records)]
    public async Task<long> ProduceAsyncAwaited()
    {
        var window = new ValueTask<DeliveryResult>[10_000];
        long last = 0;
        for (var i = 0; i < Records; i += window.Length)
        {
            for (var j = 0; j < window.Length; j++)
            {
#pragma warning disable CA2012 // Each is awaited exactly once, below.
                window[j] = _producer.ProduceAsync(_topic, _keys[j % BenchmarkData.RecordCount], _values[j % BenchmarkData.RecordCount]);
#pragma warning restore CA2012
            }

            for (var j = 0; j < window.Length; j++)
            {
                last = (await window[j]).Offset;
            }
        }

        return last;
    }

    private sealed class Counter
    {
        public long Delivered;
    }
}
