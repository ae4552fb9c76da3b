using System.Diagnostics;
using Messaging.IntegrationTests.Consumer;
using Messaging.IntegrationTests.Support;
using Messaging.Testing;

namespace Messaging.IntegrationTests.Groups;

/// <summary>
/// Members that fail through <see cref="KafkaConsumer.Subscribe(IEnumerable{string}, IConsumerRebalanceListener?)"/>:
/// one killed without leaving, one whose application stops reading past the max poll interval, one whose rebalance
/// listener throws.
/// </summary>
public sealed class MemberFailureTests
{
    private const string Topic = "events";
    private const int Partitions = 12;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(45);
    private static readonly TimeSpan SessionTimeout = TimeSpan.FromSeconds(3);

    [Theory(Timeout = 120_000)]
    [InlineData("range")]
    [InlineData("cooperative-sticky")]
    public async Task A_member_killed_without_leaving_has_its_partitions_reassigned_after_the_session_timeout(string assignor)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = SubscribeTests.StartCluster();
        var group = SubscribeTests.NewGroup();
        KafkaConsumerOptions Options() => SubscribeTests.GroupOptions(cluster.BootstrapServers, group, GroupProtocol.Classic, assignor, o => o.SessionTimeout = SessionTimeout);
        await using var a = new GroupReader("a", Options(), [Topic]);
        await using var b = new GroupReader("b", Options(), [Topic]);
        await using var c = new GroupReader("c", Options(), [Topic]);
        await Eventually.TrueAsync(() => SubscribeTests.Splits(a, b, c), Deadline, "three members owning all 12 partitions", ct);
        await ConsumerTestSupport.ProduceAsync(cluster.BootstrapServers, Topic, Partitions, 600, 20, cancellationToken: ct);
        await Eventually.TrueAsync(() => SubscribeTests.Distinct(a, b, c) == 600, Deadline, "the first 600 records read", ct);
        var orphaned = c.Consumer.Assignment.ToHashSet();

        cluster.StartRequestTracking();
        var killedAt = Stopwatch.GetTimestamp();
        await c.KillAsync(); // no LeaveGroup, no more heartbeats: the coordinator notices only when the session times out
        await Eventually.TrueAsync(() => SubscribeTests.Splits(a, b), Deadline, "a and b owning all 12 partitions after c died", ct);
        var took = Stopwatch.GetElapsedTime(killedAt);

        Assert.DoesNotContain(cluster.GetTrackedRequests(), r => r.ApiKey == ApiKey.LeaveGroup);
        Assert.True(took >= SessionTimeout * 0.66, "reassigned by the session timeout, not a leave: " + took.TotalMilliseconds + " ms");
        await ConsumerTestSupport.ProduceAsync(cluster.BootstrapServers, Topic, Partitions, 600, 20, cancellationToken: ct);
        await Eventually.TrueAsync(() => SubscribeTests.Distinct(a, b, c) == 1200, Deadline, "every record of 1,200 read, c's partitions by a and b", ct);
        var readAfter = a.Seen.Concat(b.Seen).Where(s => orphaned.Contains(s.Partition)).Select(s => s.Offset).ToList();
        Assert.Contains(readAfter, o => o >= 50); // the second batch of c's partitions came through a or b
        Assert.All(new[] { a, b }, r => Assert.Equal(0, r.DeliveredAfterRevocation));
    }

    [Theory(Timeout = 120_000)]
    [InlineData(GroupProtocol.Classic, "range")]
    [InlineData(GroupProtocol.Consumer, "")]
    public async Task A_member_that_stops_reading_past_max_poll_interval_loses_its_partitions_and_rejoins_when_it_reads_again(GroupProtocol protocol, string assignor)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = SubscribeTests.StartCluster();
        var group = SubscribeTests.NewGroup();
        await using var a = new GroupReader("a", SubscribeTests.GroupOptions(cluster.BootstrapServers, group, protocol, assignor), [Topic]);
        await using var b = new GroupReader("b", SubscribeTests.GroupOptions(cluster.BootstrapServers, group, protocol, assignor, o => o.MaxPollInterval = TimeSpan.FromSeconds(1.5)), [Topic]);
        await Eventually.TrueAsync(() => SubscribeTests.Splits(a, b) && b.Consumer.Assignment.Count > 0, Deadline, "a and b splitting the partitions", ct);

        await b.StopReadingAsync();
        await Eventually.TrueAsync(() => b.Count("lost") == 1, Deadline, "b losing its partitions on the poll timeout", ct);
        await Eventually.TrueAsync(() => SubscribeTests.Splits(a), Deadline, "a owning all 12 partitions after b left", ct);
        Assert.Empty(b.Consumer.Assignment);
        await ConsumerTestSupport.ProduceAsync(cluster.BootstrapServers, Topic, Partitions, 600, 20, cancellationToken: ct);
        await Eventually.TrueAsync(() => a.Seen.Count >= 600, Deadline, "a reading all 600 records alone", ct);

        b.ResumeReading();
        await Eventually.TrueAsync(() => SubscribeTests.Splits(a, b) && b.Consumer.Assignment.Count > 0, Deadline, "b rejoining when it reads again", ct);
        var seenBefore = b.Seen.Count;
        await ConsumerTestSupport.ProduceAsync(cluster.BootstrapServers, Topic, Partitions, 600, 20, cancellationToken: ct);
        await Eventually.TrueAsync(() => SubscribeTests.Distinct(a, b) == 1200 && b.Seen.Count > seenBefore, Deadline, "every record of 1,200 read, b reading again", ct);
        Assert.Null(a.Failure);
        Assert.Null(b.Failure);
    }

    public static TheoryData<string> Callbacks => [nameof(IConsumerRebalanceListener.OnPartitionsAssignedAsync), nameof(IConsumerRebalanceListener.OnPartitionsRevokedAsync)];

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(Callbacks))]
    public async Task A_listener_that_throws_does_not_stop_the_rebalance_and_the_next_consume_throws_naming_the_callback(string callback)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = SubscribeTests.StartCluster();
        var group = SubscribeTests.NewGroup();
        await ConsumerTestSupport.ProduceAsync(cluster.BootstrapServers, Topic, Partitions, 240, 20, cancellationToken: ct);
        var listener = new ThrowingListener(callback);
        await using var consumer = ConsumerTestSupport.Bytes(SubscribeTests.GroupOptions(cluster.BootstrapServers, group));
        consumer.Subscribe([Topic], listener);

        // Read until the listener's failure comes out of a consume call.
        var read = 0;
        var consuming = Task.Run(async () =>
        {
            while (true)
            {
                try
                {
                    await foreach (var record in consumer.ConsumeAsync(ct))
                    {
                        Interlocked.Increment(ref read);
                    }
                }
                catch (KafkaGroupException ex)
                {
                    return ex;
                }
            }
        }, ct);

        GroupReader? other = null;
        try
        {
            if (callback == nameof(IConsumerRebalanceListener.OnPartitionsRevokedAsync))
            {
                // The consumer owns everything; a second member joining makes it revoke (eager: all 12), and records
                // produced after the rebalance make its waiting consume call return, so the next one can throw.
                await Eventually.TrueAsync(() => consumer.Assignment.Count == Partitions && Volatile.Read(ref read) == 240, Deadline, "the consumer alone reading everything", ct);
                other = new GroupReader("other", SubscribeTests.GroupOptions(cluster.BootstrapServers, group), [Topic]);
                await Eventually.TrueAsync(() => consumer.Assignment.Count > 0 && other.Consumer.Assignment.Count > 0 && consumer.Assignment.Count + other.Consumer.Assignment.Count == Partitions, Deadline, "both members owning their share", ct);
                await ConsumerTestSupport.ProduceAsync(cluster.BootstrapServers, Topic, Partitions, 240, 20, cancellationToken: ct);
            }

            var failure = await consuming.WaitAsync(Deadline, ct);
            Assert.Contains(callback, failure.Message, StringComparison.Ordinal);
            Assert.Equal(group, failure.GroupId);
            Assert.IsType<InvalidOperationException>(failure.InnerException);
            Assert.Equal(1, listener.Thrown);

            // The rebalance completed all the same: the member owns its share and goes on reading it.
            Assert.Equal(other is null ? Partitions : Partitions - other.Consumer.Assignment.Count, consumer.Assignment.Count);
            var owned = consumer.Assignment.ToHashSet();
            await ConsumerTestSupport.ProduceAsync(cluster.BootstrapServers, Topic, Partitions, 240, 20, cancellationToken: ct);
            var after = await ConsumerTestSupport.ReadAsync(consumer, 1, Deadline, ct);
            Assert.NotEmpty(after);
            Assert.Contains(after[0].TopicPartition, owned);
        }
        finally
        {
            if (other is not null)
            {
                await other.DisposeAsync();
            }
        }
    }

    /// <summary>Throws from one callback, once, the first time it gets partitions.</summary>
    private sealed class ThrowingListener(string callback) : IConsumerRebalanceListener
    {
        public int Thrown;

        public int Calls;

        public ValueTask OnPartitionsAssignedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken) =>
            Call(nameof(OnPartitionsAssignedAsync), partitions);

        public ValueTask OnPartitionsRevokedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken) =>
            Call(nameof(OnPartitionsRevokedAsync), partitions);

        public ValueTask OnPartitionsLostAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken) =>
            Call(nameof(OnPartitionsLostAsync), partitions);

        private ValueTask Call(string name, IReadOnlyCollection<TopicPartition> partitions)
        {
            Interlocked.Increment(ref Calls);
            if (name == callback && partitions.Count > 0 && Interlocked.CompareExchange(ref Thrown, 1, 0) == 0)
            {
                throw new InvalidOperationException("listener bug in " + name);
            }

            return ValueTask.CompletedTask;
        }
    }
}
