using Microsoft.Extensions.Time.Testing;

namespace Messaging.Core.Tests.Producer;

/// <summary>A blocking <c>Produce</c> waits at most max.block.ms in all, whatever it waits for one after the other.</summary>
public sealed class BlockingProduceWaitTests
{
    private static readonly TimeSpan MaxBlock = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MetadataWait = TimeSpan.FromSeconds(20);

    [Fact(Timeout = 30_000)]
    public async Task A_produce_that_waited_for_metadata_then_for_memory_gives_up_at_max_block_from_its_call()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker { OnProduce = static _ => ScriptedProduceBroker.Hold }; // batches stay in flight
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = broker.BootstrapServers,
            TimeProvider = time,
            MaxBlock = MaxBlock,
            DeliveryTimeout = TimeSpan.FromMinutes(10),
            RequestTimeout = TimeSpan.FromMinutes(5),
            Linger = TimeSpan.Zero,
            BatchSize = 16 * 1024,
            MaxRequestSize = 16 * 1024,
            BufferMemory = 64 * 1024,
            CloseTimeout = TimeSpan.Zero,
        });
        try
        {
            // buffer.memory fills with batches of the first topic that are never answered.
            await producer.Core.Topics.EnsureTopicAsync(ScriptedProduceBroker.Topic, MaxBlock, ct);
            while (producer.TryProduce(ScriptedProduceBroker.Topic, new ProducerRecord { Value = new byte[4000] }, 0, static (in DeliveryResult _, ProduceException? _, int _) => { }))
            {
            }

            // A blocking Produce to a topic the metadata does not list yet: it waits for metadata ...
            var metadataBefore = broker.Count(ApiKey.Metadata);
            var blocking = Task.Run(() => producer.Produce(ScriptedProduceBroker.LateTopic, "k"u8, new byte[4000]), ct);
            while (!Array.Exists(producer.Core.Accumulator.Topics, t => t.Name == ScriptedProduceBroker.LateTopic))
            {
                await Task.Delay(1, ct); // the call has started
            }

            var advanced = TimeSpan.Zero;
            while (broker.Count(ApiKey.Metadata) == metadataBefore)
            {
                await AdvanceAsync(Step); // (the refresher spaces its requests)
            }

            if (advanced < MetadataWait)
            {
                await AdvanceAsync(MetadataWait - advanced);
            }

            // ... which comes 20 s (or more) into the call; then it waits for memory (the only waiter the pool has) ...
            broker.LateTopicListed = true;
            while (!producer.Core.Pool.HasWaiters && !blocking.IsCompleted)
            {
                await AdvanceAsync(Step);
            }

            Assert.False(blocking.IsCompleted);

            // ... and gives up once max.block.ms has passed since the call, not a whole max.block.ms after the metadata came.
            while (!blocking.IsCompleted && advanced < MaxBlock + TimeSpan.FromSeconds(5))
            {
                await AdvanceAsync(Step);
            }

            var error = await Assert.ThrowsAsync<ProduceException>(() => blocking.WaitAsync(TimeSpan.FromSeconds(10), ct));
            Assert.Equal(ProduceErrorKind.BufferExhausted, error.Kind);

            async Task AdvanceAsync(TimeSpan step)
            {
                time.Advance(step);
                advanced += step;
                await Task.Delay(1, ct); // let the producer's threads see the new time
            }
        }
        finally
        {
            await producer.DisposeAsync();
        }
    }
}
