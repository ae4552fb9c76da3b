namespace Messaging.Core.Tests.Producer;

/// <summary>A record the broker refuses as too large fails as too large, as one the producer refuses itself does.</summary>
public sealed class RecordTooLargeTests
{
    [Theory(Timeout = 30_000)]
    [InlineData(ErrorCode.MessageTooLarge)]
    [InlineData(ErrorCode.RecordListTooLarge)]
    public async Task A_batch_the_broker_refuses_as_too_large_fails_its_records_as_too_large(ErrorCode refusal)
    {
        var ct = TestContext.Current.CancellationToken;

        // The topic's max.message.bytes is below what the producer allows itself (max.request.size): only the broker knows.
        await using var broker = new ScriptedProduceBroker { OnProduce = _ => refusal };
        await using var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = broker.BootstrapServers, Linger = TimeSpan.Zero });

        var error = await Assert.ThrowsAsync<ProduceException>(async () =>
            await producer.ProduceAsync(ScriptedProduceBroker.Topic, "k"u8.ToArray(), new byte[1000], cancellationToken: ct));

        Assert.Equal(ProduceErrorKind.RecordTooLarge, error.Kind);
        Assert.Equal(refusal, error.Code);
        Assert.False(error.IsRetriable);
    }
}
