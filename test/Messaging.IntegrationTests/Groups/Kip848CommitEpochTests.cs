using Messaging.IntegrationTests.Consumer;
using Messaging.IntegrationTests.Support;
using Messaging.Testing;

namespace Messaging.IntegrationTests.Groups;

/// <summary>A KIP-848 consumer's commits that are still being retried when the coordinator fences the member, or when it closes.</summary>
public sealed class Kip848CommitEpochTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact(Timeout = 60_000)]
    public async Task A_commit_retried_across_a_fencing_fails_instead_of_going_out_with_the_epoch_of_the_rejoin()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(1);
        var topic = "kip848-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic, 2, 1);
        var logs = new RecordingLoggerFactory();
        await using var consumer = new KafkaConsumer(SubscribeTests.GroupOptions(cluster.BootstrapServers, SubscribeTests.NewGroup(), GroupProtocol.Consumer, "", o =>
        {
            o.EnableAutoCommit = false;
            o.LoggerFactory = logs;
        }));
        consumer.Subscribe([topic]);
        var member = consumer.Group!.Kip848Member!;
        await Until.TrueAsync(() => member.MemberEpoch > 0 && member.Assignment.Count == 2, Deadline, "joined with both partitions", ct);
        var epoch = member.MemberEpoch;

        // The coordinator is loading: the commit, made under the first epoch for partitions the member owns, is retried.
        cluster.PushRequestErrors(ApiKey.OffsetCommit, [.. Enumerable.Repeat(ErrorCode.CoordinatorLoadInProgress, 1000)]);
        var partition = new TopicPartition(topic, 0);
        var commit = consumer.CommitAsync([new TopicPartitionCommit(partition, 5)], ct).AsTask();
        await Until.TrueAsync(() => logs.Events.Any(e => e.Message.Contains("OffsetCommit failed", StringComparison.Ordinal)), Deadline, "a first commit attempt refused", ct);

        // Meanwhile the coordinator fences the member: its partitions are lost (another member may own them now),
        // and it joins again under a new epoch. Then the coordinator is done loading.
        cluster.PushRequestErrors(ApiKey.ConsumerGroupHeartbeat, ErrorCode.FencedMemberEpoch);
        await Until.TrueAsync(() => member.Fencings == 1 && member.MemberEpoch > 0, Deadline, "fenced, and back with a new epoch", ct);
        Assert.NotEqual(epoch, member.MemberEpoch);
        cluster.ClearRequestErrors(ApiKey.OffsetCommit);

        // The commit speaks for the partitions owned under the first epoch: it must not be stored under the new one.
        var failure = await Assert.ThrowsAsync<KafkaCommitException>(() => commit.WaitAsync(Deadline, ct));
        Assert.Equal(ErrorCode.RebalanceInProgress, failure.Code);
        Assert.Contains("it was not sent again", failure.Message, StringComparison.Ordinal);
        var committed = await consumer.CommittedAsync([partition], ct);
        Assert.Equal(-1, Assert.Single(committed).Offset);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_member_whose_final_commits_timed_out_with_the_coordinator_unknown_still_sends_its_leaving_heartbeat()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(1);
        var topic = "kip848-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic, 1, 1);
        var logs = new RecordingLoggerFactory();
        var consumer = new KafkaConsumer(SubscribeTests.GroupOptions(cluster.BootstrapServers, SubscribeTests.NewGroup(), GroupProtocol.Consumer, "", o =>
        {
            o.EnableAutoCommit = true;
            o.EnableAutoOffsetStore = false; // only the offset stored below is committed
            o.AutoCommitInterval = TimeSpan.FromMinutes(10); // the final commits alone
            o.DefaultApiTimeout = TimeSpan.FromSeconds(1);
            o.LoggerFactory = logs;
        }));
        consumer.Subscribe([topic]);
        var member = consumer.Group!.Kip848Member!;
        // The consumer's assignment, not the member's: the offset can be stored once the consumer has taken the partition.
        await Until.TrueAsync(() => member.MemberEpoch > 0 && consumer.Assignment.Count == 1, Deadline, "joined with the partition", ct);

        // Every commit is refused with COORDINATOR_NOT_AVAILABLE, which forgets the coordinator, and finding it again
        // takes longer than a commit's api timeout: each final commit (the close's, the revocation's) times out with
        // the coordinator unknown.
        cluster.PushRequestErrors(ApiKey.OffsetCommit, [.. Enumerable.Repeat(ErrorCode.CoordinatorNotAvailable, 1000)]);
        // Two lookups are slow (the close's commit's, the revocation's commit's); the leave waits for the second only.
        cluster.PushBrokerRequestErrors(1, ApiKey.FindCoordinator, [.. Enumerable.Repeat((ErrorCode.None, TimeSpan.FromSeconds(1.5)), 2)]);
        consumer.StoreOffset(new TopicPartition(topic, 0), 5);
        await consumer.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30), ct);

        // The leaving heartbeat (epoch -1) went out and was answered: it logs when it cannot be sent or is not answered.
        Assert.Contains(logs.Events, e => e.Message.Contains("leaving: the consumer is being closed", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Events, e => e.Message.Contains("leaving heartbeat (not retried)", StringComparison.Ordinal));
    }
}
