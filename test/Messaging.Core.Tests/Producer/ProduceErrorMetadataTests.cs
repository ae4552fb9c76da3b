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
}
