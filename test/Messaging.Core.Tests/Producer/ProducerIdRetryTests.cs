using Messaging.IntegrationTests.Support;

namespace Messaging.Core.Tests.Producer;

/// <summary>
/// Whatever ends an InitProducerId attempt that a retry can fix — not only a Kafka error, but the connection disposed
/// under it too — the idempotent producer asks again after its backoff, and its records are delivered; a refusal a
/// retry cannot fix fails every record waiting for the id as Fatal, those that were waiting for memory included.
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

    [Fact(Timeout = 30_000)]
    public async Task A_record_waiting_for_memory_when_InitProducerId_is_refused_for_good_fails_as_Fatal_at_once()
    {
        var ct = TestContext.Current.CancellationToken;

        // The first InitProducerId is never answered (it times out); the second is refused for good.
        await using var broker = new ScriptedProduceBroker { OnInitProducerId = static n => n == 1 ? ScriptedProduceBroker.Hold : ErrorCode.ClusterAuthorizationFailed };
        await using var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = broker.BootstrapServers,
            EnableIdempotence = true,
            Linger = TimeSpan.Zero,
            RequestTimeout = TimeSpan.FromSeconds(1),
            DeliveryTimeout = TimeSpan.FromSeconds(60),
            MaxBlock = TimeSpan.FromSeconds(60),
            BatchSize = 16 * 1024,
            MaxRequestSize = 16 * 1024,
            BufferMemory = 64 * 1024,
            CloseTimeout = TimeSpan.Zero,
        });

        // Without a producer id nothing is sent: buffer.memory fills, and the next record waits for memory.
        await producer.Core.Topics.EnsureTopicAsync(ScriptedProduceBroker.Topic, TimeSpan.FromSeconds(20), ct);
        while (producer.TryProduce(ScriptedProduceBroker.Topic, new ProducerRecord { Value = new byte[4000] }, 0, static (in DeliveryResult _, ProduceException? _, int _) => { }))
        {
        }

        var waiting = producer.ProduceAsync(ScriptedProduceBroker.Topic, null, new byte[4000], cancellationToken: ct).AsTask();
        await Eventually.TrueAsync(() => producer.Core.Pool.HasWaiters, TimeSpan.FromSeconds(10), "the record waiting for memory", ct);

        // The first InitProducerId goes out on its own connection, which may still be opening while the buffer fills.
        await Eventually.TrueAsync(() => broker.Count(ApiKey.InitProducerId) >= 1, TimeSpan.FromSeconds(10), "the first InitProducerId reaching the broker", ct);

        // The refusal fails the queued batches (their memory frees) and the record that waited for it, well before its delivery timeout.
        var error = await Assert.ThrowsAsync<ProduceException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(15), ct));
        Assert.Equal(ProduceErrorKind.Fatal, error.Kind);
        Assert.Equal(ErrorCode.ClusterAuthorizationFailed, error.Code);
        Assert.Equal(0, broker.Count(ApiKey.Produce));
    }
}
