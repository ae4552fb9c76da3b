namespace Messaging.Core.Tests.Producer;

/// <summary>
/// A Produce response whose body does not decode says nothing about the batches it answers: the broker may have written
/// them. The connection closes (as for any other undecodable response) and the batches are retried, not failed for good.
/// </summary>
public sealed class UndecodableProduceResponseTests
{
    [Fact(Timeout = 30_000)]
    public async Task A_batch_whose_response_does_not_decode_is_retried_on_a_new_connection_and_delivered()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker { EnforceSequences = true };
        var answered = 0;
        broker.OnProduce = _ => Interlocked.Increment(ref answered) == 1 ? ScriptedProduceBroker.Garbled : ErrorCode.None;
        await using var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = broker.BootstrapServers,
            DeliveryTimeout = TimeSpan.FromSeconds(10),
            RequestTimeout = TimeSpan.FromSeconds(5),
            Linger = TimeSpan.Zero,
            RetryBackoff = TimeSpan.FromMilliseconds(10),
            RetryBackoffMax = TimeSpan.FromMilliseconds(50),
        });
        await producer.Core.Topics.EnsureTopicAsync(ScriptedProduceBroker.Topic, TimeSpan.FromSeconds(10), ct);
        var connects = producer.Core.Connections.ConnectAttempts;

        var delivered = await producer.ProduceAsync(ScriptedProduceBroker.Topic, "k"u8.ToArray(), "v"u8.ToArray(), cancellationToken: ct);

        Assert.Equal(0, delivered.Offset);
        Assert.Equal(2, broker.Batches.Count(b => b.Partition == 0));
        Assert.True(producer.Core.Connections.ConnectAttempts > connects, "the connection the undecodable response came on stayed in use");
    }
}
