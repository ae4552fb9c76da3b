namespace Messaging.Core.Tests.Producer;

/// <summary>Produce errors that say the partition's leader is elsewhere make the producer ask for metadata again.</summary>
public sealed class ProduceErrorMetadataTests
{
    [Fact(Timeout = 30_000)]
    public async Task A_storage_error_refreshes_metadata_so_the_retry_reaches_the_new_leader()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker();

        // KAFKA_STORAGE_ERROR: the broker's log directory failed and the partition's leadership moves away. This
        // broker keeps answering it until the producer has asked for metadata again (where the new leader is found).
        var metadataAtFirstError = -1;
        broker.OnProduce = _ =>
        {
            var metadata = broker.Count(ApiKey.Metadata);
            if (metadataAtFirstError < 0)
            {
                metadataAtFirstError = metadata;
            }

            return metadata > metadataAtFirstError ? ErrorCode.None : ErrorCode.KafkaStorageError;
        };

        await using var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = broker.BootstrapServers,
            DeliveryTimeout = TimeSpan.FromSeconds(5),
            RequestTimeout = TimeSpan.FromSeconds(2),
            Linger = TimeSpan.Zero,
            RetryBackoff = TimeSpan.FromMilliseconds(10),
            RetryBackoffMax = TimeSpan.FromMilliseconds(50),
        });

        var delivered = await producer.ProduceAsync(ScriptedProduceBroker.Topic, "k"u8.ToArray(), "v"u8.ToArray(), cancellationToken: ct);

        Assert.Equal(0, delivered.Offset);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_leader_that_cannot_be_reached_makes_the_producer_ask_for_metadata_until_it_names_another()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker();

        // The first metadata names node 2 as the leader, a broker that crashed (nothing listens on its port) but is
        // still listed, as a cluster lists a broker until its session times out; later answers name node 1, the new
        // leader. Connecting to node 2 never succeeds, so no connection of it closes to hint that anything changed.
        broker.LeaderInMetadata = n => n <= 1 ? 2 : 1;

        await using var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = broker.BootstrapServers,
            DeliveryTimeout = TimeSpan.FromSeconds(5),
            RequestTimeout = TimeSpan.FromSeconds(2),
            Linger = TimeSpan.Zero,
            ReconnectBackoff = TimeSpan.FromMilliseconds(20),
        });

        var delivered = await producer.ProduceAsync(ScriptedProduceBroker.Topic, "k"u8.ToArray(), "v"u8.ToArray(), cancellationToken: ct);

        Assert.Equal(0, delivered.Offset);
        Assert.Equal(1, Assert.Single(broker.Batches.Select(b => b.Count)));
    }
}
