using Messaging.IntegrationTests.Support;

namespace Messaging.Core.Tests.Producer;

/// <summary>
/// Whatever ends an InitProducerId attempt that a retry can fix — not only a Kafka error, but the connection disposed
/// under it too — the idempotent producer asks again after its backoff, and its records are delivered.
/// </summary>
public sealed class ProducerIdRetryTests
{
    [Fact(Timeout = 30_000)]
    public async Task An_InitProducerId_whose_connection_is_disposed_under_it_is_asked_again_and_the_record_is_delivered()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker { OnInitProducerId = static n => n == 1 ? ScriptedProduceBroker.Hold : ErrorCode.None };
        await using var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = broker.BootstrapServers,
            EnableIdempotence = true,
            Linger = TimeSpan.Zero,
            DeliveryTimeout = TimeSpan.FromSeconds(60),
            CloseTimeout = TimeSpan.FromSeconds(1),
        });

        var delivered = producer.ProduceAsync(ScriptedProduceBroker.Topic, null, "v"u8.ToArray(), cancellationToken: ct).AsTask();
        await Eventually.TrueAsync(() => broker.Count(ApiKey.InitProducerId) == 1, TimeSpan.FromSeconds(10), "the first InitProducerId reaching the broker", ct);
        var requesting = producer.Core.ProducerId.WhenIdleAsync();

        // The request waits on the cluster client's one open connection; disposing it fails the request with ObjectDisposedException.
        var connection = await producer.Core.Cluster.GetAnyAsync(ct);
        Assert.Equal(1, connection.PendingCount);
        await connection.DisposeAsync();

        await requesting.WaitAsync(TimeSpan.FromSeconds(15), ct);
        var result = await delivered.WaitAsync(TimeSpan.FromSeconds(15), ct);
        Assert.Equal(0, result.Partition);
        Assert.Equal(2, broker.Count(ApiKey.InitProducerId));
        Assert.Equal(4000, Assert.Single(broker.Batches).ProducerId);
    }
}
