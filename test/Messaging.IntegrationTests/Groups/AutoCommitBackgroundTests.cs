using System.Text.RegularExpressions;
using Microsoft.Extensions.Time.Testing;

namespace Messaging.IntegrationTests.Groups;

/// <summary>
/// A consumer's automatic commits against a coordinator that keeps refusing them: the group's background loop goes on
/// with its other duties meanwhile.
/// </summary>
public sealed class AutoCommitBackgroundTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    [Fact(Timeout = 60_000)]
    public async Task A_pattern_is_matched_again_while_an_automatic_commit_is_still_retrying_an_unavailable_coordinator()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeGroupBroker.Start();
        broker.SetPartitions("events", 1);
        var partition = new TopicPartition("events", 0);
        var consumer = new KafkaConsumer(ClassicFakeCoordinatorTests.HeldPartitionsOptions(broker.BootstrapServers, "group-" + Guid.NewGuid().ToString("N")[..8], o =>
        {
            o.EnableAutoCommit = true;
            o.EnableAutoOffsetStore = false; // only the offset stored below is committed
            o.AutoCommitInterval = TimeSpan.FromMilliseconds(50);
            o.MetadataMaxAge = TimeSpan.FromMilliseconds(200);
            o.DefaultApiTimeout = TimeSpan.FromMinutes(5); // the commit retries far past the test
        }));
        try
        {
            consumer.Subscribe(new Regex("^events.*"));
            await Until.TrueAsync(() => consumer.Assignment.Count == 1, Deadline, "events-0 assigned", ct);

            broker.CommitsLoading = true;
            consumer.StoreOffset(partition, 5);
            await Until.TrueAsync(() => broker.Commits.Count >= 2, Deadline, "the automatic commit retried at the loading coordinator", ct);

            broker.SetPartitions("events.eu", 1);
            await Until.TrueAsync(() => consumer.Subscription.Contains("events.eu"), Deadline,
                "the pattern matched again (events.eu) while the automatic commit was still retrying", ct);
        }
        finally
        {
            broker.CommitsLoading = false;
            await consumer.DisposeAsync();
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_revocation_commit_supersedes_an_automatic_commit_still_retrying_instead_of_waiting_behind_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeGroupBroker.Start();
        broker.SetPartitions("events", 1);
        broker.SetPartitions("audit", 1);
        var partition = new TopicPartition("events", 0);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow); // frozen: a commit retries only when the test moves it on
        var listener = new RevocationCounter();
        var consumer = new KafkaConsumer(ClassicFakeCoordinatorTests.HeldPartitionsOptions(broker.BootstrapServers, "group-" + Guid.NewGuid().ToString("N")[..8], o =>
        {
            o.TimeProvider = time;
            o.EnableAutoCommit = true;
            o.EnableAutoOffsetStore = false; // only the offset stored below is committed
            o.AutoCommitInterval = TimeSpan.FromSeconds(1);
            o.DefaultApiTimeout = TimeSpan.FromMinutes(5); // the automatic commit retries far past the test
            o.SessionTimeout = TimeSpan.FromMinutes(5); // the clock moved below ends no session
            o.HeartbeatInterval = TimeSpan.FromMinutes(1);
        }));
        try
        {
            consumer.Subscribe(["events"], listener);
            await Until.TrueAsync(() => consumer.Assignment.Count == 1, Deadline, "events-0 assigned", ct);

            // The coordinator is loading: the automatic commit is refused, and waits out its backoff on the frozen clock.
            broker.CommitsLoading = true;
            consumer.StoreOffset(partition, 5);
            time.Advance(TimeSpan.FromSeconds(1));
            await Until.TrueAsync(() => broker.Commits.Count == 1, Deadline, "the automatic commit refused by the loading coordinator", ct);

            // A rejoin: the eager protocol (range) revokes events-0 first, and commits its offset before it rejoins.
            consumer.Subscribe(["events", "audit"], listener);
            await Until.TrueAsync(() => Volatile.Read(ref listener.Revocations) == 1, Deadline, "events-0 revoked", ct);
            await Until.TrueAsync(() => broker.Commits.Count == 2, Deadline,
                "the revocation's commit sent at once, not after the automatic commit still retrying", ct);

            // Done loading: the revocation's commit goes through at its next attempt, and the rebalance completes.
            broker.CommitsLoading = false;
            await Until.TrueAsync(() =>
            {
                time.Advance(TimeSpan.FromMilliseconds(100));
                return consumer.Assignment.Count == 2;
            }, Deadline, "the rebalance done", ct);
            Assert.True(broker.CommittedOffsets.TryGetValue(partition, out var committed), "The revocation commit did not reach the coordinator.");
            Assert.Equal(5, committed);
        }
        finally
        {
            broker.CommitsLoading = false;
            var dispose = consumer.DisposeAsync().AsTask();
            while (!dispose.IsCompleted)
            {
                time.Advance(TimeSpan.FromSeconds(1)); // whatever commit is still out retries, or gives up at the close timeout
                await Task.WhenAny(dispose, Task.Delay(10, ct));
            }

            await dispose;
        }
    }

    /// <summary>Counts the revocations that took partitions.</summary>
    private sealed class RevocationCounter : IConsumerRebalanceListener
    {
        public int Revocations;

        public ValueTask OnPartitionsAssignedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask OnPartitionsRevokedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken)
        {
            if (partitions.Count > 0)
            {
                Interlocked.Increment(ref Revocations);
            }

            return ValueTask.CompletedTask;
        }

        public ValueTask OnPartitionsLostAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
