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
        var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = broker.BootstrapServers,
            TimeProvider = time,
            MaxBlock = MaxBlock,
            DeliveryTimeout = TimeSpan.FromMinutes(10),
            RequestTimeout = TimeSpan.FromMinutes(5),
            CloseTimeout = TimeSpan.Zero,
        });
        try
        {
            await producer.Core.Topics.EnsureTopicAsync(ScriptedProduceBroker.Topic, MaxBlock, ct);

            // Two topics' records wait in the lane for their first metadata: one the cluster lists soon, one it never lists.
            var late = producer.ProduceAsync(ScriptedProduceBroker.LateTopic, null, "first"u8.ToArray(), cancellationToken: ct).AsTask();
            var missing = producer.ProduceAsync("missing-topic", null, "lost"u8.ToArray(), cancellationToken: ct).AsTask();

            // A blocking Produce to the first topic waits behind its record (it must not overtake it).
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
}
