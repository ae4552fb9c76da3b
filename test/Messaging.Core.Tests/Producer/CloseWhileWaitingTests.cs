namespace Messaging.Core.Tests.Producer;

/// <summary>A call still waiting inside the producer when it closes gets the producer's typed outcome, whatever it was waiting for.</summary>
public sealed class CloseWhileWaitingTests
{
    [Fact(Timeout = 30_000)]
    public async Task A_produce_waiting_for_memory_when_the_producer_closes_fails_as_Disposed()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker { OnProduce = static _ => ScriptedProduceBroker.Hold }; // batches stay in flight
        var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = broker.BootstrapServers,
            MaxBlock = TimeSpan.FromMinutes(5),
            DeliveryTimeout = TimeSpan.FromMinutes(10),
            RequestTimeout = TimeSpan.FromMinutes(5),
            Linger = TimeSpan.Zero,
            BatchSize = 16 * 1024,
            MaxRequestSize = 16 * 1024,
            BufferMemory = 64 * 1024,
            CloseTimeout = TimeSpan.Zero,
        });
        Task<DeliveryResult> waiting;
        try
        {
            // buffer.memory fills with batches that are never answered ...
            await producer.Core.Topics.EnsureTopicAsync(ScriptedProduceBroker.Topic, TimeSpan.FromSeconds(20), ct);
            while (producer.TryProduce(ScriptedProduceBroker.Topic, new ProducerRecord { Value = new byte[4000] }, 0, static (in DeliveryResult _, ProduceException? _, int _) => { }))
            {
            }

            // ... so the next call waits for memory (its wait would last minutes) ...
            waiting = producer.ProduceAsync(ScriptedProduceBroker.Topic, (byte[]?)null, new byte[4000], cancellationToken: ct).AsTask();
            while (!producer.Core.Pool.HasWaiters)
            {
                Assert.False(waiting.IsCompleted);
                await Task.Delay(1, ct);
            }
        }
        finally
        {
            await producer.DisposeAsync(); // ... when the producer closes
        }

        var error = await Assert.ThrowsAsync<ProduceException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(10), ct));
        Assert.Equal(ProduceErrorKind.Disposed, error.Kind);
    }
}
