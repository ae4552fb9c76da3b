namespace Messaging.Core.Tests.Producer;

/// <summary>A call still waiting inside the producer when it closes gets the producer's typed outcome, whatever it was waiting for.</summary>
public sealed class CloseWhileWaitingTests
{
    [Fact(Timeout = 30_000)]
    public async Task A_produce_waiting_for_memory_when_the_producer_closes_fails_as_Disposed()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker();
        var producer = await broker.ProducerWithFullMemoryAsync(partition: 0, ct); // buffer.memory fills with batches that are never answered ...
        Task<DeliveryResult> waiting;
        try
        {
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
