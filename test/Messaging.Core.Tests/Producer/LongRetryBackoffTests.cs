using Messaging.IntegrationTests.Support;

namespace Messaging.Core.Tests.Producer;

/// <summary>
/// A retry backoff of TimeSpan.MaxValue ("never retry", as a configuration of retry.backoff.ms = Long.MAX_VALUE may
/// say) is accepted, so it works: a batch refused retriably waits for a retry that never comes and fails at its
/// delivery timeout, and an InitProducerId refused retriably is not asked again; nothing is sent again at once, and
/// the producer closes without error.
/// </summary>
public sealed class LongRetryBackoffTests
{
    private static KafkaProducerOptions Options(ScriptedProduceBroker broker, bool idempotence) => new()
    {
        BootstrapServers = broker.BootstrapServers,
        EnableIdempotence = idempotence,
        Linger = TimeSpan.Zero,
        RequestTimeout = TimeSpan.FromSeconds(1),
        DeliveryTimeout = TimeSpan.FromSeconds(2),
        RetryBackoff = TimeSpan.MaxValue,
        RetryBackoffMax = TimeSpan.MaxValue,
        CloseTimeout = TimeSpan.Zero,
    };

    [Theory(Timeout = 30_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_batch_refused_retriably_is_not_sent_again_and_fails_at_its_delivery_timeout(bool idempotence)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker { OnProduce = static _ => ErrorCode.NotEnoughReplicas };
        await using var producer = new KafkaProducer(Options(broker, idempotence));
        // The topic's metadata first: the 2 s delivery timeout is for the refused batch's retry that never comes, and
        // on a loaded machine the set-up alone could use it up before the batch was ever sent.
        await producer.Core.Topics.EnsureTopicAsync(ScriptedProduceBroker.Topic, TimeSpan.FromSeconds(20), ct);

        var error = await Assert.ThrowsAsync<ProduceException>(() => producer.ProduceAsync(ScriptedProduceBroker.Topic, null, "v"u8.ToArray(), cancellationToken: ct).AsTask().WaitAsync(TimeSpan.FromSeconds(15), ct));

        Assert.Equal(ProduceErrorKind.DeliveryTimeout, error.Kind);
        Assert.Equal(1, broker.Count(ApiKey.Produce));
    }

    [Fact(Timeout = 30_000)]
    public async Task An_InitProducerId_refused_retriably_is_not_asked_again_and_the_record_fails_at_its_delivery_timeout()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker { OnInitProducerId = static _ => ErrorCode.CoordinatorLoadInProgress };
        await using var producer = new KafkaProducer(Options(broker, idempotence: true));
        // The first InitProducerId at the broker first: the 2 s delivery timeout is for the retry that never comes, and
        // on a loaded machine the set-up alone could use it up before the InitProducerId was ever sent.
        await producer.Core.Topics.EnsureTopicAsync(ScriptedProduceBroker.Topic, TimeSpan.FromSeconds(20), ct);
        await Eventually.TrueAsync(() => broker.Count(ApiKey.InitProducerId) >= 1, TimeSpan.FromSeconds(10), "the first InitProducerId reaching the broker", ct);

        var error = await Assert.ThrowsAsync<ProduceException>(() => producer.ProduceAsync(ScriptedProduceBroker.Topic, null, "v"u8.ToArray(), cancellationToken: ct).AsTask().WaitAsync(TimeSpan.FromSeconds(15), ct));

        Assert.Equal(ProduceErrorKind.DeliveryTimeout, error.Kind);
        Assert.Equal(1, broker.Count(ApiKey.InitProducerId));
        Assert.Equal(0, broker.Count(ApiKey.Produce));
    }
}
