using Microsoft.Extensions.Time.Testing;

namespace Messaging.Core.Tests.Producer;

/// <summary>A blocking <c>Produce</c> keeps the order of its own topic's waiting records, and is not held by other topics'.</summary>
public sealed class BlockingProduceLaneTests
{
    private static readonly TimeSpan MaxBlock = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(250);

    [Fact(Timeout = 30_000)]
    public async Task A_produce_behind_its_topics_waiting_records_goes_once_they_are_appended_while_another_topic_still_waits()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var producer = new KafkaProducer(Options(broker, time));
        try
        {
            await producer.Core.Topics.EnsureTopicAsync(ScriptedProduceBroker.Topic, MaxBlock, ct);

            // Two topics' records wait in the lane for their first metadata: one the cluster lists soon, one it never lists.
            var late = producer.ProduceAsync(ScriptedProduceBroker.LateTopic, null, "first"u8.ToArray(), cancellationToken: ct).AsTask();
            var missing = producer.ProduceAsync("missing-topic", null, "lost"u8.ToArray(), cancellationToken: ct).AsTask();

            // A blocking Produce to the first topic waits behind its record (it must not overtake it).
            var blocking = await StartBlockedAsync(producer, ct);

            // The topic appears: its waiting record is appended, and the blocking call follows it at once, although
            // the other topic's record still waits (for up to max.block.ms).
            broker.LateTopicListed = true;
            var advanced = TimeSpan.Zero;
            while (!blocking.IsCompleted && advanced < MaxBlock + Step)
            {
                time.Advance(Step);
                advanced += Step;
                await Task.Delay(1, ct); // let the producer's threads see the new time
            }

            await blocking.WaitAsync(TimeSpan.FromSeconds(10), ct);
            Assert.True(advanced < MaxBlock, "the blocking Produce waited " + advanced + " (max.block.ms " + MaxBlock + ")");
            Assert.False(missing.IsCompleted);
        }
        finally
        {
            await producer.DisposeAsync();
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task A_produce_that_waited_behind_its_topics_records_counts_its_delivery_timeout_from_its_call()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var options = Options(broker, time);
        options.MaxBlock = TimeSpan.FromMinutes(5); // ample: the fake clock may run ahead of the producer's threads
        options.Linger = TimeSpan.FromMinutes(1); // the record's batch stays open: its deadline can be read
        options.SendWhenIdle = false;
        var producer = new KafkaProducer(options);
        try
        {
            // A record of the topic waits in the lane for the topic's first metadata; its caller gives up on it later,
            // so it is never appended and the blocking call below starts a batch of its own.
            using var giveUp = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var first = producer.ProduceAsync(ScriptedProduceBroker.LateTopic, null, "first"u8.ToArray(), cancellationToken: giveUp.Token).AsTask();

            var called = producer.Core.Settings.Clock.Now;
            var blocking = await StartBlockedAsync(producer, ct);

            // The call waits behind that record for 20 s before the topic appears.
            for (var waited = TimeSpan.Zero; waited < TimeSpan.FromSeconds(20); waited += Step)
            {
                time.Advance(Step);
                await Task.Delay(1, ct);
            }

            await giveUp.CancelAsync();
            broker.LateTopicListed = true;
            var advanced = TimeSpan.Zero;
            while (!blocking.IsCompleted && advanced < options.MaxBlock)
            {
                time.Advance(Step);
                advanced += Step;
                await Task.Delay(1, ct);
            }

            await blocking.WaitAsync(TimeSpan.FromSeconds(10), ct);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
            var open = producer.Core.Accumulator.GetOrAddTopic(ScriptedProduceBroker.LateTopic).Partitions[0].Open;
            Assert.NotNull(open);
            var settings = producer.Core.Settings;
            Assert.True(open.DeadlineTicks <= called + settings.DeliveryTimeoutTicks,
                "the record's delivery deadline is " + settings.Clock.Between(called, open.DeadlineTicks) + " after its call (delivery.timeout.ms " + settings.DeliveryTimeout + ")");
        }
        finally
        {
            await producer.DisposeAsync();
        }
    }

    private static KafkaProducerOptions Options(ScriptedProduceBroker broker, FakeTimeProvider time) => new()
    {
        BootstrapServers = broker.BootstrapServers,
        TimeProvider = time,
        MaxBlock = MaxBlock,
        DeliveryTimeout = TimeSpan.FromMinutes(10),
        RequestTimeout = TimeSpan.FromMinutes(1),
        CloseTimeout = TimeSpan.Zero,
    };

    /// <summary>Starts a blocking <c>Produce</c> to <see cref="ScriptedProduceBroker.LateTopic"/> on a thread of its own; returns once that thread blocks.</summary>
    private static async Task<Task> StartBlockedAsync(KafkaProducer producer, CancellationToken ct)
    {
        Thread? caller = null;
        var blocking = Task.Run(
            () =>
            {
                Volatile.Write(ref caller, Thread.CurrentThread);
                producer.Produce(ScriptedProduceBroker.LateTopic, "k"u8, "second"u8);
            },
            ct);
        while (Volatile.Read(ref caller) is not { } thread || (thread.ThreadState & ThreadState.WaitSleepJoin) == 0)
        {
            Assert.False(blocking.IsCompleted, blocking.Exception?.ToString());
            await Task.Delay(1, ct);
        }

        return blocking;
    }
}
