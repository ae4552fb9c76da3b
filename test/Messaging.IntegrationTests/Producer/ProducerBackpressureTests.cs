using System.Diagnostics;
using Messaging.IntegrationTests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.IntegrationTests.Producer;

/// <summary>Runs alone: it measures the process's managed memory.</summary>
[CollectionDefinition(nameof(MemoryMeasuringCollection), DisableParallelization = true)]
public sealed class MemoryMeasuringCollection
{
}

/// <summary><c>buffer.memory</c> with a broker down: producing blocks, then fails with a typed error after <c>max.block.ms</c>, and memory stays bounded.</summary>
[Collection(nameof(MemoryMeasuringCollection))]
public sealed class ProducerBackpressureTests(TestBrokerFixture fixture)
{
    private const long BufferMemory = 1024 * 1024;
    private static readonly TimeSpan MaxBlock = TimeSpan.FromMilliseconds(700);

    [Fact(Timeout = 120_000)]
    public async Task With_the_broker_down_producing_blocks_for_max_block_then_fails_with_buffer_exhausted_and_memory_stays_under_the_bound()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, faultInjection: true, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("backpressure");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        var options = new KafkaProducerOptions
        {
            BootstrapServers = broker.BootstrapServers,
            BufferMemory = BufferMemory,
            MaxRequestSize = 64 * 1024,
            BatchSize = 16 * 1024,
            MaxBlock = MaxBlock,
            Linger = TimeSpan.FromMilliseconds(1),
            RequestTimeout = TimeSpan.FromSeconds(5),
            DeliveryTimeout = TimeSpan.FromSeconds(60),
            ReconnectBackoff = TimeSpan.FromMilliseconds(50),
            ReconnectBackoffMax = TimeSpan.FromMilliseconds(200),
        };
        await using var producer = new KafkaProducer(options);
        await producer.ProduceAsync(topic, "warm"u8.ToArray(), "up"u8.ToArray(), cancellationToken: ct); // metadata and connection
        broker.Faults!.SetBrokerDown(1);
        await Task.Delay(300, ct);

        GC.Collect();
        GC.WaitForPendingFinalizers();
        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        var value = new byte[1000];
        var counters = new int[2]; // delivered, failed
        var buffered = 0;
        ProduceException? blocked = null;
        var clock = Stopwatch.StartNew();
        while (blocked is null && buffered < 10_000)
        {
            clock.Restart();
            try
            {
                producer.Produce(topic, "k"u8, value, static (in Messaging.DeliveryResult _, ProduceException? e, object? s) =>
                {
                    var counters = (int[])s!;
                    Interlocked.Increment(ref counters[e is null ? 0 : 1]);
                }, counters);
                buffered++;
            }
            catch (ProduceException ex)
            {
                blocked = ex;
            }
        }

        var blockedFor = clock.Elapsed;
        Assert.NotNull(blocked);
        Assert.Equal(ProduceErrorKind.BufferExhausted, blocked.Kind);
        Assert.True(blocked.IsRetriable);
        Assert.True(blockedFor >= MaxBlock - TimeSpan.FromMilliseconds(50), $"Produce failed after {blockedFor.TotalMilliseconds:0} ms, before max.block.ms");
        Assert.True(blockedFor < MaxBlock + TimeSpan.FromSeconds(2), $"Produce blocked {blockedFor.TotalMilliseconds:0} ms");

        // Everything buffered fits in buffer.memory: the pool never held more, and the heap grew by no more.
        Assert.InRange(buffered * (long)value.Length, BufferMemory / 2, BufferMemory);
        Assert.True(producer.Core.Pool.Held <= BufferMemory, $"the pool holds {producer.Core.Pool.Held} bytes");
        var grown = GC.GetTotalMemory(forceFullCollection: true) - baseline;
        Assert.True(grown < BufferMemory + (256 * 1024), $"the managed heap grew by {grown} bytes while {BufferMemory} were allowed");

        // ProduceAsync waits asynchronously and fails the same way.
        clock.Restart();
        var asyncError = await Assert.ThrowsAsync<ProduceException>(async () => await producer.ProduceAsync(topic, "k"u8.ToArray(), value, cancellationToken: ct));
        Assert.Equal(ProduceErrorKind.BufferExhausted, asyncError.Kind);
        Assert.True(clock.Elapsed >= MaxBlock - TimeSpan.FromMilliseconds(50));

        // Back up: what was buffered is delivered, and producing works again.
        broker.Faults.SetBrokerUp(1);
        await producer.FlushAsync(ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
        Assert.Equal(buffered, counters[0]);
        Assert.Equal(0, counters[1]);
        var after = await producer.ProduceAsync(topic, "k"u8.ToArray(), value, cancellationToken: ct);
        Assert.Equal(buffered + 1, after.Offset);
    }
}
