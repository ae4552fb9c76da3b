namespace Messaging.Core.Tests.Producer;

/// <summary>
/// A topic the metadata refuses for good (no rights to it, or an invalid name) fails a record at once, as the Java
/// client's send() does, instead of after max.block.ms as a metadata timeout that says to retry.
/// </summary>
public sealed class TopicRefusedTests
{
    [Theory(Timeout = 30_000)]
    [InlineData(ErrorCode.TopicAuthorizationFailed, false)]
    [InlineData(ErrorCode.TopicAuthorizationFailed, true)]
    [InlineData(ErrorCode.InvalidTopicException, false)]
    public async Task A_record_for_a_topic_the_metadata_refuses_fails_at_once_with_that_error(ErrorCode refusal, bool blocking)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker { TopicError = refusal };
        await using var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = broker.BootstrapServers,
            MaxBlock = TimeSpan.FromSeconds(60),
            CloseTimeout = TimeSpan.FromSeconds(1),
            Linger = TimeSpan.Zero,
        });

        var produce = blocking
            ? Task.Run(() => producer.Produce(ScriptedProduceBroker.Topic, "k"u8, "v"u8), ct)
            : producer.ProduceAsync(ScriptedProduceBroker.Topic, "k"u8.ToArray(), "v"u8.ToArray(), cancellationToken: ct).AsTask();

        var error = await Assert.ThrowsAsync<ProduceException>(() => produce.WaitAsync(TimeSpan.FromSeconds(10), ct)); // well within max.block.ms
        Assert.Equal(ProduceErrorKind.Broker, error.Kind);
        Assert.Equal(refusal, error.Code);
        Assert.False(error.IsRetriable);
        Assert.Equal(0, broker.Count(ApiKey.Produce));
    }

    [Fact(Timeout = 30_000)]
    public async Task Once_the_topic_is_no_longer_refused_the_next_record_is_delivered()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker { TopicError = ErrorCode.TopicAuthorizationFailed };
        await using var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = broker.BootstrapServers,
            CloseTimeout = TimeSpan.FromSeconds(1),
            Linger = TimeSpan.Zero,
        });
        await Assert.ThrowsAsync<ProduceException>(async () => await producer.ProduceAsync(ScriptedProduceBroker.Topic, "k"u8.ToArray(), "v"u8.ToArray(), cancellationToken: ct));

        broker.TopicError = ErrorCode.None; // the rights were granted
        var delivered = await producer.ProduceAsync(ScriptedProduceBroker.Topic, "k"u8.ToArray(), "v"u8.ToArray(), cancellationToken: ct);
        Assert.Equal(0, delivered.Offset);
    }
}
