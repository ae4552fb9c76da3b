using Messaging.IntegrationTests.Support;

namespace Messaging.Core.Tests.Producer;

/// <summary>
/// MaxBlock and DeliveryTimeout of TimeSpan.MaxValue ("no limit", as max.block.ms = Long.MAX_VALUE says) are accepted,
/// so they work: a produce waits as long as it takes for metadata, for the records ahead of it in the lane and for
/// buffer memory, instead of handing the whole limit to a timer that refuses it.
/// </summary>
public sealed class NoBlockLimitTests
{
    private static KafkaProducerOptions NoLimits(ScriptedProduceBroker broker) => new()
    {
        BootstrapServers = broker.BootstrapServers,
        MaxBlock = TimeSpan.MaxValue,
        DeliveryTimeout = TimeSpan.MaxValue,
        Linger = TimeSpan.Zero,
        CloseTimeout = TimeSpan.Zero,
    };

    [Fact(Timeout = 60_000)]
    public async Task Records_for_a_topic_listed_late_wait_for_its_metadata_and_behind_each_other_and_are_delivered()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker();
        await using var producer = new KafkaProducer(NoLimits(broker));

        // The first record of a topic waits for its metadata.
        await producer.ProduceAsync(ScriptedProduceBroker.Topic, null, "a"u8.ToArray(), cancellationToken: ct).AsTask().WaitAsync(TimeSpan.FromSeconds(15), ct);

        // A topic the cluster does not list yet: a blocking produce waits for its metadata, a record produced
        // asynchronously waits in the lane, and a blocking produce after it waits behind it.
        var blockingFirst = Task.Run(() => producer.Produce(ScriptedProduceBroker.LateTopic, "k"u8, "b"u8), ct);
        await Eventually.TrueAsync(() => broker.MetadataTopics.Any(t => t is not null && t.Contains(ScriptedProduceBroker.LateTopic)) || blockingFirst.IsCompleted,
            TimeSpan.FromSeconds(15), "a metadata request naming the late topic", ct);
        var waiting = producer.ProduceAsync(ScriptedProduceBroker.LateTopic, null, "c"u8.ToArray(), cancellationToken: ct).AsTask();
        var blocking = Task.Run(() => producer.Produce(ScriptedProduceBroker.LateTopic, "k"u8, "d"u8), ct);
        await Eventually.TrueAsync(() => producer.Core.Cluster.Metadata.Current is not null && (waiting.IsCompleted || blocking.IsCompleted || broker.Count(ApiKey.Metadata) > 3),
            TimeSpan.FromSeconds(15), "more metadata requests while the records wait", ct);
        Assert.False(blockingFirst.IsCompleted, blockingFirst.Exception?.ToString());
        Assert.False(waiting.IsCompleted, waiting.Exception?.ToString());
        Assert.False(blocking.IsCompleted, blocking.Exception?.ToString());

        broker.LateTopicListed = true;
        await Task.WhenAll(blockingFirst, waiting, blocking).WaitAsync(TimeSpan.FromSeconds(15), ct);
        await producer.FlushAsync(ct).WaitAsync(TimeSpan.FromSeconds(15), ct);
        Assert.Equal(4, broker.Values.Count);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_record_waits_for_buffer_memory_until_the_producer_closes()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker { OnProduce = static _ => ScriptedProduceBroker.Hold };
        var options = NoLimits(broker);
        options.BatchSize = 16 * 1024;
        options.MaxRequestSize = 16 * 1024;
        options.BufferMemory = 64 * 1024;
        var producer = new KafkaProducer(options);
        Task waiting;
        try
        {
            await producer.Core.Topics.EnsureTopicAsync(ScriptedProduceBroker.Topic, TimeSpan.FromSeconds(20), ct);
            while (producer.TryProduce(ScriptedProduceBroker.Topic, new ProducerRecord { Value = new byte[4000] }, 0, static (in DeliveryResult _, ProduceException? _, int _) => { }))
            {
            }

            waiting = producer.ProduceAsync(ScriptedProduceBroker.Topic, null, new byte[4000], cancellationToken: ct).AsTask();
            await Eventually.TrueAsync(() => producer.Core.Pool.HasWaiters || waiting.IsCompleted, TimeSpan.FromSeconds(15), "the record waiting for memory", ct);
            Assert.False(waiting.IsCompleted, waiting.Exception?.ToString());
        }
        finally
        {
            await producer.DisposeAsync();
        }

        var error = await Assert.ThrowsAsync<ProduceException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(15), ct));
        Assert.Equal(ProduceErrorKind.Disposed, error.Kind);
    }
}
