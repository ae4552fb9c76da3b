using Messaging.Core.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Messaging.Core.Tests.Producer;

/// <summary>
/// <c>metadata.max.idle.ms</c>: a topic nobody produces to leaves the producer's Metadata requests after
/// <see cref="KafkaProducerOptions.MetadataMaxIdle"/>; the next record to it waits for its metadata again. A topic with
/// records waiting, queued or in flight stays. On a fake clock.
/// </summary>
public sealed class IdleTopicTests
{
    private static readonly TimeSpan MaxIdle = TimeSpan.FromSeconds(5);

    [Fact(Timeout = 60_000)]
    public async Task A_topic_deleted_on_the_broker_that_nobody_produces_to_leaves_the_metadata_requests_after_the_idle_time()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker { LateTopicListed = true };
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var producer = new KafkaProducer(Options(broker, time));
        try
        {
            await ProduceAsync(producer, time, ScriptedProduceBroker.Topic, ct);
            await ProduceAsync(producer, time, ScriptedProduceBroker.LateTopic, ct);

            // The late topic is deleted and nobody produces to it any more; the other topic is produced to all along.
            broker.LateTopicListed = false;
            await FakeClockSteps.AdvanceUntilAsync(time, () => !Known(producer, ScriptedProduceBroker.LateTopic), 6 * MaxIdle,
                "the idle topic leaving the producer", ct, () => producer.Produce(ScriptedProduceBroker.Topic, "k"u8, "busy"u8));

            var before = broker.MetadataTopics.Count;
            var refresh = producer.Core.Cluster.Metadata.RefreshAsync(ct);
            await FakeClockSteps.AdvanceUntilAsync(time, () => refresh.IsCompleted, TimeSpan.FromMinutes(1), "a metadata refresh", ct);
            await refresh;
            var asked = broker.MetadataTopics.Skip(before).Last();
            Assert.NotNull(asked);
            Assert.DoesNotContain(ScriptedProduceBroker.LateTopic, asked);
            Assert.Contains(ScriptedProduceBroker.Topic, asked);
            Assert.True(Known(producer, ScriptedProduceBroker.Topic));
        }
        finally
        {
            await producer.DisposeAsync();
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_record_to_a_topic_dropped_as_idle_waits_for_its_metadata_again_and_continues_its_sequences()
    {
        var ct = TestContext.Current.CancellationToken;

        // The broker checks sequences as Kafka does: a batch that started again at sequence 0 would be taken for a
        // duplicate of the first and never written.
        await using var broker = new ScriptedProduceBroker { LateTopicListed = true, EnforceSequences = true };
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var producer = new KafkaProducer(Options(broker, time));
        try
        {
            var first = await ProduceAsync(producer, time, ScriptedProduceBroker.LateTopic, ct);
            await FakeClockSteps.AdvanceUntilAsync(time, () => !Known(producer, ScriptedProduceBroker.LateTopic), 6 * MaxIdle, "the idle topic leaving the producer", ct);

            var before = broker.MetadataTopics.Count;
            var second = await ProduceAsync(producer, time, ScriptedProduceBroker.LateTopic, ct);

            Assert.Contains(broker.MetadataTopics.Skip(before), asked => asked is not null && asked.Contains(ScriptedProduceBroker.LateTopic));
            Assert.Equal(first.Offset + 1, second.Offset);
            Assert.Equal(2, broker.WrittenValues.Count);
            Assert.Equal([0, 1], broker.Batches.Select(b => b.BaseSequence));
            Assert.Equal(0, producer.Core.Idempotence.EpochBumps);
        }
        finally
        {
            await producer.DisposeAsync();
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_topic_with_records_in_flight_or_queued_stays_however_long_they_take()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker { LateTopicListed = true, OnProduce = static _ => ScriptedProduceBroker.Hold };
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var options = Options(broker, time);
        options.Linger = TimeSpan.FromMinutes(10); // the second record's batch waits behind the first, which is never answered
        var producer = new KafkaProducer(options);
        try
        {
            var inFlight = producer.ProduceAsync(ScriptedProduceBroker.LateTopic, null, "in flight"u8.ToArray(), cancellationToken: ct).AsTask();
            await FakeClockSteps.AdvanceUntilAsync(time, () => !broker.Batches.IsEmpty, TimeSpan.FromMinutes(1), "the first batch reaching the broker", ct);
            var queued = producer.ProduceAsync(ScriptedProduceBroker.LateTopic, null, "queued"u8.ToArray(), cancellationToken: ct).AsTask();
            var state = producer.Core.Accumulator.GetOrAddTopic(ScriptedProduceBroker.LateTopic);
            Assert.NotNull(state.Partitions[0].Open);

            await FakeClockSteps.AdvanceAsync(time, 6 * MaxIdle, ct);

            Assert.Same(state, Array.Find(producer.Core.Accumulator.Topics, t => t.Name == ScriptedProduceBroker.LateTopic));
            var before = broker.MetadataTopics.Count;
            var refresh = producer.Core.Cluster.Metadata.RefreshAsync(ct);
            await FakeClockSteps.AdvanceUntilAsync(time, () => refresh.IsCompleted, TimeSpan.FromMinutes(1), "a metadata refresh", ct);
            Assert.Contains(ScriptedProduceBroker.LateTopic, broker.MetadataTopics.Skip(before).Last()!);
            Assert.False(inFlight.IsCompleted);
            Assert.False(queued.IsCompleted);
        }
        finally
        {
            await producer.DisposeAsync();
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_record_waiting_longer_than_the_idle_time_for_its_topics_first_metadata_gets_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var producer = new KafkaProducer(Options(broker, time));
        try
        {
            var waiting = producer.ProduceAsync(ScriptedProduceBroker.LateTopic, null, "waits"u8.ToArray(), cancellationToken: ct).AsTask();
            await FakeClockSteps.AdvanceAsync(time, 6 * MaxIdle, ct);
            Assert.False(waiting.IsCompleted, waiting.Exception?.ToString());

            broker.LateTopicListed = true;
            await FakeClockSteps.AdvanceUntilAsync(time, () => waiting.IsCompleted, TimeSpan.FromMinutes(1), "the waiting record's delivery", ct);
            Assert.Equal(0, (await waiting).Partition);
        }
        finally
        {
            await producer.DisposeAsync();
        }
    }

    [Fact]
    public void The_idle_time_defaults_to_five_minutes_and_is_at_least_five_seconds()
    {
        Assert.Equal(TimeSpan.FromMinutes(5), new KafkaProducerOptions().MetadataMaxIdle);
        new KafkaProducerOptions { BootstrapServers = "b:1", MetadataMaxIdle = TimeSpan.FromSeconds(5) }.Validate();
        var error = Assert.Throws<ArgumentException>(new KafkaProducerOptions { BootstrapServers = "b:1", MetadataMaxIdle = TimeSpan.FromMilliseconds(4999) }.Validate);
        Assert.Equal(nameof(KafkaProducerOptions.MetadataMaxIdle), error.ParamName);
        Assert.Throws<ArgumentException>(new KafkaProducerOptions { BootstrapServers = "b:1", MetadataMaxIdle = TimeSpan.FromSeconds(-1) }.Validate);
    }

    private static KafkaProducerOptions Options(ScriptedProduceBroker broker, FakeTimeProvider time) => new()
    {
        BootstrapServers = broker.BootstrapServers,
        TimeProvider = time,
        MetadataMaxIdle = MaxIdle,
        MaxBlock = TimeSpan.FromMinutes(10),
        DeliveryTimeout = TimeSpan.FromMinutes(30),
        RequestTimeout = TimeSpan.FromMinutes(10),
        CloseTimeout = TimeSpan.Zero,
    };

    private static bool Known(KafkaProducer producer, string topic) => Array.Exists(producer.Core.Accumulator.Topics, t => t.Name == topic);

    private static async Task<DeliveryResult> ProduceAsync(KafkaProducer producer, FakeTimeProvider time, string topic, CancellationToken ct)
    {
        var delivery = producer.ProduceAsync(topic, null, "v"u8.ToArray(), cancellationToken: ct).AsTask();
        await FakeClockSteps.AdvanceUntilAsync(time, () => delivery.IsCompleted, TimeSpan.FromMinutes(1), "the delivery of a record to " + topic, ct);
        return await delivery;
    }
}
