using Messaging.IntegrationTests.Consumer;
using Microsoft.Extensions.Time.Testing;

namespace Messaging.IntegrationTests.Groups;

/// <summary>Commits still out or queued when the consumer is disposed end, with an error, instead of waiting for ever.</summary>
public sealed class ConsumerDisposeCommitTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    [Fact(Timeout = 60_000)]
    public async Task Commits_out_and_queued_at_dispose_end_with_an_error()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeGroupBroker.Start();
        broker.OffsetsUnanswered = true; // the first commit stays out; the others queue behind it
        var options = ConsumerTestSupport.ManualCommitGroupOptions(broker.BootstrapServers);
        options.RequestTimeout = TimeSpan.FromMinutes(5);
        var consumer = new KafkaConsumer(options);
        var partition = new TopicPartition("events", 0);
        var first = consumer.CommitAsync([new TopicPartitionCommit(partition, 5)], ct).AsTask();
        await Until.TrueAsync(() => !broker.Commits.IsEmpty, Deadline, "the first commit at the coordinator", ct);
        var queued = new[]
        {
            consumer.CommitAsync([new TopicPartitionCommit(partition, 6)], ct).AsTask(),
            consumer.CommitAsync([new TopicPartitionCommit(partition, 7)], ct).AsTask(),
        };

        await consumer.DisposeAsync();

        Task[] commits = [first, .. queued];
        await Until.TrueAsync(() => commits.All(c => c.IsCompleted), Deadline, "every commit out or queued at the dispose to end", ct);
        foreach (var commit in commits)
        {
            _ = await Assert.ThrowsAsync<ObjectDisposedException>(() => commit);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task The_final_commit_of_a_consumer_without_an_api_timeout_ends_at_the_close_timeout_on_the_consumers_clock()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeGroupBroker.Start();
        broker.SetPartitions("events", 1);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var consumer = new KafkaConsumer(ClassicFakeCoordinatorTests.HeldPartitionsOptions(broker.BootstrapServers, "group-" + Guid.NewGuid().ToString("N")[..8], o =>
        {
            o.TimeProvider = time;
            o.EnableAutoCommit = true;
            o.EnableAutoOffsetStore = false; // only the offset stored below is committed
            o.DefaultApiTimeout = TimeSpan.MaxValue; // no limit of its own on the commit
            o.SessionTimeout = TimeSpan.FromMinutes(5); // the clock moved below ends no session
            o.HeartbeatInterval = TimeSpan.FromMinutes(1);
        }));
        consumer.Subscribe(["events"]);
        await Until.TrueAsync(() => consumer.Assignment.Count == 1, Deadline, "events-0 assigned", ct);
        broker.OffsetsUnanswered = true; // the coordinator stops answering commits
        consumer.StoreOffset(new TopicPartition("events", 0), 5);

        var dispose = consumer.DisposeAsync().AsTask();
        await Until.TrueAsync(() => !broker.Commits.IsEmpty, Deadline, "the final commit at the coordinator", ct);
        time.Advance(TimeSpan.FromSeconds(29));
        Assert.False(dispose.IsCompleted, "The dispose ended before the close timeout.");
        time.Advance(TimeSpan.FromSeconds(2));
        await Until.TrueAsync(() => dispose.IsCompleted, Deadline, "the dispose to end once the 30 s close timeout passed on the consumer's clock", ct);
        await dispose;
    }

    [Fact(Timeout = 60_000)]
    public async Task A_member_whose_final_commits_timed_out_with_the_coordinator_unknown_still_leaves_the_group()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeGroupBroker.Start();
        broker.SetPartitions("events", 1);
        var partition = new TopicPartition("events", 0);
        var consumer = new KafkaConsumer(ClassicFakeCoordinatorTests.HeldPartitionsOptions(broker.BootstrapServers, "group-" + Guid.NewGuid().ToString("N")[..8], o =>
        {
            o.EnableAutoCommit = true;
            o.EnableAutoOffsetStore = false; // only the offset stored below is committed
            o.AutoCommitInterval = TimeSpan.FromMinutes(10); // the final commits alone
            o.DefaultApiTimeout = TimeSpan.FromSeconds(1);
        }));
        consumer.Subscribe(["events"]);
        await Until.TrueAsync(() => consumer.Assignment.Count == 1 && consumer.Group!.ClassicMember!.StableGeneration is not null, Deadline, "events-0 assigned, stable", ct);

        // Every commit is refused with COORDINATOR_NOT_AVAILABLE, which forgets the coordinator, and finding it again
        // takes longer than a commit's api timeout: each final commit (the close's, the revocation's) times out with
        // the coordinator unknown.
        broker.PushErrors(ApiKey.OffsetCommit, [.. Enumerable.Repeat(ErrorCode.CoordinatorNotAvailable, 1000)]);
        broker.FindCoordinatorDelay = TimeSpan.FromSeconds(2);
        consumer.StoreOffset(partition, 5);

        await consumer.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30), ct);

        Assert.False(broker.Commits.IsEmpty, "The final commits did not reach the coordinator.");
        Assert.False(broker.CommittedOffsets.ContainsKey(partition));
        Assert.Equal(1, Volatile.Read(ref broker.Leaves));
    }
}
