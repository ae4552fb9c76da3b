using Messaging.Protocol.Messages;
using Messaging.Records;

namespace Messaging.IntegrationTests.Consumer;

/// <summary>Incremental fetch sessions (KIP-227) against a broker that implements them (<see cref="FakeFetchBroker"/>).</summary>
public sealed class ConsumerFetchSessionTests
{
    private const string Topic = "sessions";

    [Fact(Timeout = 60_000)]
    public async Task After_a_full_fetch_only_changed_partitions_are_sent_and_dropped_ones_are_forgotten()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = FakeFetchBroker.Start(sessions: true);
        fake.CreateTopic(Topic, 3);
        fake.Append(Topic, 0, Batch(0, 5));

        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(fake.BootstrapServers));
        consumer.Assign(ConsumerTestSupport.All(Topic, 3, OffsetSpec.Earliest));
        Assert.Equal(5, (await ConsumerTestSupport.ReadAsync(consumer, 5, TimeSpan.FromSeconds(10), ct)).Count);
        await WaitForFetchesAsync(fake, 3, ct);

        var fetches = fake.Fetches;
        Assert.Equal(0, fetches[0].SessionEpoch); // full, asking for a session
        Assert.Equal(3, Partitions(fetches[0]).Count);
        Assert.Equal(100, fetches[1].SessionId);
        Assert.Equal(1, fetches[1].SessionEpoch);
        Assert.Equal([(0, 5L)], Partitions(fetches[1])); // only the partition whose offset moved
        Assert.Equal(2, fetches[2].SessionEpoch);
        Assert.Empty(Partitions(fetches[2])); // nothing changed: an empty incremental fetch

        // New data elsewhere arrives without the partition being re-sent.
        fake.Append(Topic, 2, Batch(0, 3));
        var more = await ConsumerTestSupport.ReadAsync(consumer, 3, TimeSpan.FromSeconds(10), ct);
        Assert.Equal([0L, 1, 2], more.Select(r => r.Offset));
        Assert.All(more, r => Assert.Equal(2, r.Partition));

        // A paused partition leaves the session.
        int seen = fake.Fetches.Count;
        consumer.Pause([new TopicPartition(Topic, 1)]);
        await WaitForFetchesAsync(fake, seen + 2, ct);
        var forgetting = fake.Fetches.Skip(seen).First(f => f.ForgottenTopicsData.Length > 0);
        Assert.Equal([1], forgetting.ForgottenTopicsData.Single().Partitions);
        Assert.True(forgetting.SessionEpoch > 0);

        // The broker losing the session: the next fetch is full again, and nothing is read twice.
        seen = fake.Fetches.Count;
        fake.FailNextFetch(ErrorCode.FetchSessionIdNotFound);
        fake.Append(Topic, 0, Batch(5, 2));
        var after = await ConsumerTestSupport.ReadAsync(consumer, 2, TimeSpan.FromSeconds(10), ct);
        Assert.Equal([5L, 6], after.Select(r => r.Offset));
        Assert.Contains(fake.Fetches.Skip(seen + 1), f => f.SessionEpoch == 0 && Partitions(f).Count == 2);
        Assert.Empty(await ConsumerTestSupport.ReadAsync(consumer, 1, TimeSpan.FromMilliseconds(300), ct));
    }

    [Theory(Timeout = 60_000)]
    [InlineData(ErrorCode.FetchSessionIdNotFound)]
    [InlineData(ErrorCode.InvalidFetchSessionEpoch)]
    public async Task A_session_the_broker_refuses_is_replaced_by_a_full_fetch_at_once_not_after_the_retry_backoff(ErrorCode error)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = FakeFetchBroker.Start(sessions: true);
        fake.CreateTopic(Topic, 1);
        fake.Append(Topic, 0, Batch(0, 3));
        await using var consumer = await ReadThreeAsync(fake, 1, o => o.RetryBackoff = TimeSpan.FromSeconds(30), ct);
        await WaitForFetchesAsync(fake, 2, ct); // incremental by now

        // The broker evicted the session (or lost count of its epoch): the Java client sends the full Fetch that opens
        // a new one right away. A session error says nothing about the partitions, so nothing waits a backoff.
        int seen = fake.Fetches.Count;
        fake.FailNextFetch(error);
        await WaitForFetchesAsync(fake, seen + 2, ct, TimeSpan.FromSeconds(5));
        Assert.Contains(fake.Fetches.Skip(seen + 1), f => f.SessionEpoch == 0 && Partitions(f).Count == 1);
        fake.Append(Topic, 0, Batch(3, 2));
        Assert.Equal([3L, 4], (await ConsumerTestSupport.ReadAsync(consumer, 2, TimeSpan.FromSeconds(5), ct)).Select(r => r.Offset));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_broker_without_sessions_gets_full_fetches_and_sessions_can_be_turned_off()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = BrokerWithThreeRecords(sessions: false, partitions: 2);
        await using (await ReadThreeAsync(fake, 2, null, ct))
        {
            await WaitForFetchesAsync(fake, 3, ct);
        }

        Assert.All(fake.Fetches, f =>
        {
            Assert.Equal(0, f.SessionId);
            Assert.Equal(0, f.SessionEpoch); // each asks for a session again, and lists every partition
            Assert.Equal(2, Partitions(f).Count);
        });

        await using var off = BrokerWithThreeRecords(sessions: true, partitions: 1);
        await (await ReadThreeAsync(off, 1, o => o.FetchSessions = false, ct)).DisposeAsync();

        Assert.All(off.Fetches, f => Assert.Equal(-1, f.SessionEpoch));
    }

    [Fact(Timeout = 60_000)]
    public async Task Disposing_the_consumer_closes_its_fetch_session()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = BrokerWithThreeRecords(sessions: true, partitions: 2);
        await using (await ReadThreeAsync(fake, 2, null, ct))
        {
            await WaitForFetchesAsync(fake, 2, ct);
            Assert.Equal(1, fake.OpenSessions);
        }

        // As the Java client closes: the session's id with the final epoch (-1), and no partitions.
        var close = fake.Fetches[^1];
        Assert.Equal(100, close.SessionId);
        Assert.Equal(-1, close.SessionEpoch);
        Assert.Empty(Partitions(close));
        Assert.Equal(0, fake.OpenSessions);
    }

    [Fact(Timeout = 60_000)]
    public async Task Closing_the_fetch_session_does_not_hold_up_dispose_when_the_broker_does_not_answer()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = BrokerWithThreeRecords(sessions: true, partitions: 1);
        fake.IgnoreSessionCloses = true;
        var consumer = await ReadThreeAsync(fake, 1, o => o.RequestTimeout = TimeSpan.FromSeconds(30), ct);
        await WaitForFetchesAsync(fake, 2, ct);

        var started = System.Diagnostics.Stopwatch.StartNew();
        await consumer.DisposeAsync();
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(5), "dispose took " + started.Elapsed + " waiting for an unanswered session close");
        Assert.Equal(-1, fake.Fetches[^1].SessionEpoch);
    }

    /// <summary>A fake broker with the topic's <paramref name="partitions"/> partitions and three records in partition 0.</summary>
    private static FakeFetchBroker BrokerWithThreeRecords(bool sessions, int partitions)
    {
        var fake = FakeFetchBroker.Start(sessions);
        fake.CreateTopic(Topic, partitions);
        fake.Append(Topic, 0, Batch(0, 3));
        return fake;
    }

    /// <summary>A consumer of every partition from the earliest offset, once it has read the three records.</summary>
    private static async Task<KafkaConsumer<byte[]?, byte[]?>> ReadThreeAsync(FakeFetchBroker fake, int partitions, Action<KafkaConsumerOptions>? configure, CancellationToken cancellationToken)
    {
        var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(fake.BootstrapServers, configure));
        consumer.Assign(ConsumerTestSupport.All(Topic, partitions, OffsetSpec.Earliest));
        Assert.Equal(3, (await ConsumerTestSupport.ReadAsync(consumer, 3, TimeSpan.FromSeconds(10), cancellationToken)).Count);
        return consumer;
    }

    private static List<(int Partition, long Offset)> Partitions(FetchRequest request) =>
        request.Topics.SelectMany(t => t.Partitions).Select(p => (p.Partition, p.FetchOffset)).ToList();

    private static async Task WaitForFetchesAsync(FakeFetchBroker fake, int count, CancellationToken cancellationToken, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(10));
        while (fake.Fetches.Count < count)
        {
            Assert.True(DateTime.UtcNow < deadline, "only " + fake.Fetches.Count + " fetches, " + count + " awaited");
            await Task.Delay(10, cancellationToken);
        }
    }

    private static byte[] Batch(int first, int count)
    {
        using var builder = new RecordBatchBuilder();
        for (int i = 0; i < count; i++)
        {
            builder.Append(1_700_000_000_000 + first + i, default, System.Text.Encoding.UTF8.GetBytes("v" + (first + i)));
        }

        return builder.Build().ToArray();
    }
}
