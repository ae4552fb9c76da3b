using Messaging.Cluster;
using Messaging.Groups;
using Messaging.IntegrationTests.Consumer;

namespace Messaging.IntegrationTests.Groups;

/// <summary>A classic consumer's commit that is still being retried when the member's generation changes.</summary>
public sealed class ClassicCommitGenerationTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact(Timeout = 60_000)]
    public async Task A_commit_retried_across_a_rejoin_fails_instead_of_landing_in_the_new_generation()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeGroupBroker.Start();
        await using var consumer = new KafkaConsumer(ConsumerTestSupport.ManualCommitGroupOptions(broker.BootstrapServers));
        consumer.Subscribe(["events"]);
        var group = consumer.Group!;
        await Until.TrueAsync(() => group.ClassicMember is { StableGeneration: not null }, Deadline, "stable", ct);
        var first = group.ClassicMember!.Generation;

        // The coordinator is loading: the commit, made in the first generation, is retried.
        broker.CommitsLoading = true;
        var commit = consumer.CommitAsync([new TopicPartitionCommit(new TopicPartition("events", 0), 5)], ct).AsTask();
        await Until.TrueAsync(() => !broker.Commits.IsEmpty, Deadline, "the first commit attempt", ct);

        // Meanwhile the coordinator forgets the member: what it owned is lost, and it joins again as a new member.
        broker.PushErrors(ApiKey.Heartbeat, ErrorCode.UnknownMemberId);
        await Until.TrueAsync(() => group.ClassicMember is { StableGeneration: { } g } && g.GenerationId != first.GenerationId, Deadline, "stable in a new generation", ct);
        broker.CommitsLoading = false;

        // The commit speaks for the first generation's partitions: it must not be stored under the new one.
        var failure = await Assert.ThrowsAsync<KafkaCommitException>(() => commit.WaitAsync(Deadline, ct));
        Assert.Equal(ErrorCode.RebalanceInProgress, failure.Code);
        Assert.DoesNotContain(broker.Commits, c => c.Generation != first.GenerationId);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_commit_cut_off_by_a_generation_change_after_attempts_were_refused_does_not_say_nothing_was_sent()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeGroupBroker.Start();
        broker.CommitsLoading = true; // every attempt is refused as retriable
        await using var cluster = new ClusterClient(new KafkaClientOptions { BootstrapServers = broker.BootstrapServers, ClientId = "commit-cut-off" });
        await using var coordinator = new GroupCoordinator(cluster, new GroupMemberSettings("group-" + Guid.NewGuid().ToString("N")[..8])
        {
            RetryBackoff = TimeSpan.FromMilliseconds(10),
            RetryBackoffMax = TimeSpan.FromMilliseconds(50),
        });
        var offsets = new GroupOffsets(coordinator);

        // The member's generation is gone once the coordinator has refused a first attempt.
        var failure = await Assert.ThrowsAsync<KafkaCommitException>(() => offsets.CommitAsync(
            [new OffsetToCommit(new TopicPartition("events", 0), 5)], () => broker.Commits.IsEmpty ? new CommitIdentity(1, "member-1", null) : null, ct).WaitAsync(Deadline, ct));

        Assert.Equal(ErrorCode.RebalanceInProgress, failure.Code);
        Assert.NotEmpty(broker.Commits);
        Assert.DoesNotContain("nothing was sent", failure.Message, StringComparison.Ordinal);
    }
}
