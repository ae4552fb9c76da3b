using Messaging.Serialization;
using Messaging.Testing.Brokers;

namespace Messaging.IntegrationTests.Consumer;

/// <summary>
/// A seek from another thread while the consuming thread is handing out a record: the position after the seek is the
/// seek's, never the consuming thread's step past the record it was handing out — on the typed, raw and batch paths.
/// </summary>
public sealed class ConsumerSeekRaceTests(TestBrokerFixture fixture)
{
    public enum ConsumePath
    {
        Typed,
        Raw,
        Batch,
    }

    [Fact(Timeout = 60_000)]
    public async Task A_seek_while_a_record_is_being_deserialized_is_not_overwritten_by_that_record()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("seekrace");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        await ConsumerTestSupport.ProduceAsync(broker.BootstrapServers, topic, 1, 100, 16, cancellationToken: ct);
        var partition = new TopicPartition(topic, 0);

        // The deserializer stops inside record 10 until the test has sought: the seek lands between the consumer's
        // check that the record is current and its step of the position past it.
        using var blocking = new BlockingDeserializer(blockAt: 10);
        await using var consumer = new KafkaConsumer<byte[]?, byte[]?>(ConsumerTestSupport.Options(broker.BootstrapServers), Deserializers.ByteArray, blocking);
        consumer.Assign([new TopicPartitionOffset(partition, 0)]);
        long? positionAfterRecord10 = null;
        var offsets = new List<long>();
        var reading = Task.Run(async () =>
        {
            await foreach (var record in consumer.ConsumeAsync(ct))
            {
                offsets.Add(record.Offset);
                if (record.Offset == 10)
                {
                    positionAfterRecord10 = consumer.Position(partition);
                }

                if (record.Offset == 50)
                {
                    break;
                }
            }
        }, ct);

        Assert.True(blocking.Entered.Wait(TimeSpan.FromSeconds(20), ct), "record 10 was never deserialized");
        consumer.Seek(partition, 50);
        Assert.Equal(50, consumer.Position(partition));
        blocking.Release.Set();
        await reading.WaitAsync(TimeSpan.FromSeconds(20), ct);

        // Record 10 was being handed out when the seek came: it may still arrive, but it does not move the position.
        Assert.Equal(50, positionAfterRecord10);
        Assert.Equal(Enumerable.Range(0, 11).Select(i => (long)i).Append(50), offsets);
        Assert.Equal(51, consumer.Position(partition));
    }

    [Theory(Timeout = 120_000)]
    [InlineData(ConsumePath.Typed)]
    [InlineData(ConsumePath.Raw)]
    [InlineData(ConsumePath.Batch)]
    public async Task Seeks_racing_a_consuming_loop_always_leave_the_position_at_the_last_seek(ConsumePath path)
    {
        const int Records = 20_000;
        const int Rounds = 400;
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("seekstress");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        await ConsumerTestSupport.ProduceAsync(broker.BootstrapServers, topic, 1, Records, 16, cancellationToken: ct);
        var partition = new TopicPartition(topic, 0);
        int seed = Random.Shared.Next();
        var random = new Random(seed);

        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(broker.BootstrapServers, o => o.MaxPollRecords = 50));
        consumer.Assign([new TopicPartitionOffset(partition, 0)]);
        var progress = new Progress();
        for (int round = 0; round < Rounds; round++)
        {
            // Consume from a random place; once the loop is busy handing out records there, seek to the end of the log
            // from this thread. Nothing lies past the end, so the position must stay exactly there.
            long from = random.Next(0, Records - 2_000);
            consumer.Seek(partition, from);
            progress.Reset();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var loop = Task.Run(() => ConsumeAsync(consumer, path, progress, stop.Token), ct);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            long target = from + random.Next(1, 500);
            while (progress.Last < target && !loop.IsCompleted)
            {
                Assert.True(DateTime.UtcNow < deadline, $"round {round} (seed {seed}): the loop did not reach offset {target} (at {progress.Last})");
                Thread.SpinWait(20);
            }

            consumer.Seek(partition, Records);
            await stop.CancelAsync();
            await loop;
            Assert.True(consumer.Position(partition) == Records,
                $"round {round} (seed {seed}, {path}): position {consumer.Position(partition)} after a seek to {Records}; the consuming thread overwrote it");
        }
    }

    private static async Task ConsumeAsync(KafkaConsumer<byte[]?, byte[]?> consumer, ConsumePath path, Progress progress, CancellationToken cancellationToken)
    {
        try
        {
            switch (path)
            {
                case ConsumePath.Typed:
                    await foreach (var record in consumer.ConsumeAsync(cancellationToken))
                    {
                        progress.Last = record.Offset;
                    }

                    break;
                case ConsumePath.Raw:
                    await foreach (var record in consumer.ConsumeRawAsync(cancellationToken))
                    {
                        progress.Last = record.Offset;
                        record.Recycle();
                    }

                    break;
                default:
                    while (true)
                    {
                        using var batch = await consumer.ConsumeBatchAsync(cancellationToken);
                        progress.Last = batch.Records[^1].Offset;
                    }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private sealed class Progress
    {
        private long _last = -1;

        public long Last
        {
            get => Volatile.Read(ref _last);
            set => Volatile.Write(ref _last, value);
        }

        public void Reset() => Last = -1;
    }

    /// <summary>Reads bytes; the first time it reads the value at <c>blockAt</c>, it signals and waits to be released.</summary>
    private sealed class BlockingDeserializer(long blockAt) : IDeserializer<byte[]?>, IDisposable
    {
        private int _blocked;

        public ManualResetEventSlim Entered { get; } = new();

        public ManualResetEventSlim Release { get; } = new();

        public byte[]? Deserialize(ReadOnlySpan<byte> data, bool isNull, in DeserializationContext context)
        {
            if (context.Offset == blockAt && Interlocked.Exchange(ref _blocked, 1) == 0)
            {
                Entered.Set();
                Release.Wait(TimeSpan.FromSeconds(30));
            }

            return isNull ? null : data.ToArray();
        }

        public void Dispose()
        {
            Entered.Dispose();
            Release.Dispose();
        }
    }
}
