using Messaging.Groups;
using Messaging.Testing;

namespace Messaging.IntegrationTests.Groups;

/// <summary>OffsetCommit and OffsetFetch through the coordinator, with coordinator moves and refusals injected.</summary>
public sealed class GroupOffsetsTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(45);

    private static EmbeddedKafkaCluster StartCluster(string topic)
    {
        var cluster = EmbeddedKafkaCluster.Start(3);
        cluster.SetGroupInitialRebalanceDelay(TimeSpan.FromMilliseconds(200));
        cluster.CreateTopic(topic, 3, 1);
        return cluster;
    }

    private static string NewName(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    private static bool Stable(TestMember m) => m.Member.StableGeneration is not null;

    private static CommitIdentity IdentityOf(TestMember m)
    {
        var generation = m.Member.StableGeneration ?? GroupGeneration.None;
        return new CommitIdentity(generation.GenerationId, generation.MemberId, null);
    }

    [Fact(Timeout = 90_000)]
    public async Task Committed_offsets_and_metadata_come_back_from_a_fetch()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = NewName("offsets");
        await using var cluster = StartCluster(topic);
        await using var a = TestMember.Start(cluster.BootstrapServers, NewName("group"), "a");
        await Until.TrueAsync(() => Stable(a), Deadline, "stable", ct, a);

        await a.Offsets.CommitAsync(
            [new OffsetToCommit(new TopicPartition(topic, 0), 42, -1, "first"), new OffsetToCommit(new TopicPartition(topic, 2), 7)],
            () => IdentityOf(a), ct);
        var committed = await a.Offsets.FetchAsync([new TopicPartition(topic, 0), new TopicPartition(topic, 1), new TopicPartition(topic, 2)], null, requireStable: true, ct);

        Assert.Equal(42, committed[new TopicPartition(topic, 0)].Offset);
        Assert.Equal("first", committed[new TopicPartition(topic, 0)].Metadata);
        Assert.Equal(-1, committed[new TopicPartition(topic, 1)].Offset);
        Assert.Equal(7, committed[new TopicPartition(topic, 2)].Offset);
    }

    [Fact(Timeout = 90_000)]
    public async Task A_commit_survives_coordinator_moves_and_loading_and_is_stored_once()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = NewName("moves");
        await using var cluster = StartCluster(topic);
        await using var a = TestMember.Start(cluster.BootstrapServers, NewName("group"), "a");
        await Until.TrueAsync(() => Stable(a), Deadline, "stable", ct, a);
        var lookups = a.Coordinator.Lookups;

        cluster.PushRequestErrors(ApiKey.OffsetCommit, ErrorCode.NotCoordinator, ErrorCode.CoordinatorNotAvailable, ErrorCode.CoordinatorLoadInProgress);
        await a.Offsets.CommitAsync([new OffsetToCommit(new TopicPartition(topic, 1), 100)], () => IdentityOf(a), ct);

        Assert.Equal(4, a.Offsets.CommitRequests);
        Assert.True(a.Coordinator.Lookups >= lookups + 2, "NOT_COORDINATOR and COORDINATOR_NOT_AVAILABLE each rediscovered the coordinator");
        cluster.PushRequestErrors(ApiKey.OffsetFetch, ErrorCode.NotCoordinator);
        var committed = await a.Offsets.FetchAsync([new TopicPartition(topic, 1)], null, requireStable: false, ct);
        Assert.Equal(100, committed[new TopicPartition(topic, 1)].Offset);
    }

    [Fact(Timeout = 90_000)]
    public async Task A_commit_with_a_stale_generation_fails_with_a_typed_error_naming_the_group()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = NewName("stale");
        await using var cluster = StartCluster(topic);
        var group = NewName("group");
        await using var a = TestMember.Start(cluster.BootstrapServers, group, "a");
        await Until.TrueAsync(() => Stable(a), Deadline, "stable", ct, a);
        var identity = IdentityOf(a);

        var error = await Assert.ThrowsAsync<KafkaCommitException>(() => a.Offsets.CommitAsync(
            [new OffsetToCommit(new TopicPartition(topic, 0), 5)], () => identity with { GenerationIdOrMemberEpoch = identity.GenerationIdOrMemberEpoch + 10 }, ct));

        Assert.Equal(ErrorCode.IllegalGeneration, error.Code);
        Assert.Equal(group, error.GroupId);
        Assert.False(error.IsRetriable);
        Assert.Contains(group, error.Message, StringComparison.Ordinal);
        Assert.Contains("ILLEGAL_GENERATION", error.Message, StringComparison.Ordinal);
        Assert.Equal(ErrorCode.IllegalGeneration, error.PartitionErrors[new TopicPartition(topic, 0)]);
    }

    [Fact(Timeout = 90_000)]
    public async Task A_commit_that_cannot_reach_a_coordinator_before_its_deadline_fails_as_retriable()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = NewName("unreachable");
        await using var cluster = StartCluster(topic);
        await using var a = TestMember.Start(cluster.BootstrapServers, NewName("group"), "a", s => s with { DefaultApiTimeout = TimeSpan.FromSeconds(2), RetryBackoffMax = TimeSpan.FromMilliseconds(200) });

        var errors = new ErrorCode[200];
        Array.Fill(errors, ErrorCode.CoordinatorLoadInProgress);
        cluster.PushRequestErrors(ApiKey.OffsetCommit, errors);
        var error = await Assert.ThrowsAsync<KafkaCommitException>(() => a.Offsets.CommitAsync(
            [new OffsetToCommit(new TopicPartition(topic, 0), 5)], () => CommitIdentity.Standalone, ct));

        Assert.Equal(ErrorCode.CoordinatorLoadInProgress, error.Code);
        Assert.True(error.IsRetriable);
        Assert.True(a.Offsets.CommitRequests > 1, "retried before giving up");
        cluster.ClearRequestErrors(ApiKey.OffsetCommit);
    }

    [Fact(Timeout = 90_000)]
    public async Task A_fetch_that_gets_no_answer_before_the_commit_timeout_fails_with_a_typed_retriable_error()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = NewName("loading-fetch");
        await using var cluster = StartCluster(topic);
        await using var a = TestMember.Start(cluster.BootstrapServers, NewName("group"), "a", s => s with { DefaultApiTimeout = TimeSpan.FromSeconds(2), RetryBackoffMax = TimeSpan.FromMilliseconds(200) });

        // The coordinator keeps loading past the commit timeout: the caller did not cancel, so the outcome is a Kafka
        // error it can retry on (the consumer holds a partition starting on it with that error), not a cancellation.
        var errors = new ErrorCode[200];
        Array.Fill(errors, ErrorCode.CoordinatorLoadInProgress);
        cluster.PushRequestErrors(ApiKey.OffsetFetch, errors);
        var error = await Assert.ThrowsAsync<KafkaErrorException>(() => a.Offsets.FetchAsync(
            [new TopicPartition(topic, 0)], null, requireStable: true, ct).WaitAsync(Deadline, ct));

        Assert.Equal(ErrorCode.CoordinatorLoadInProgress, error.Code);
        Assert.True(error.IsRetriable);
        Assert.Contains("api timeout (DefaultApiTimeout, 2000 ms)", error.Message, StringComparison.Ordinal);
        cluster.ClearRequestErrors(ApiKey.OffsetFetch);
    }

    [Fact(Timeout = 90_000)]
    public async Task A_fetch_refused_with_STALE_MEMBER_EPOCH_while_the_member_is_out_of_the_group_fails_at_once()
    {
        var ct = TestContext.Current.CancellationToken;
        var topic = NewName("stale-fetch");
        await using var cluster = StartCluster(topic);
        await using var a = TestMember.Start(cluster.BootstrapServers, NewName("group"), "a");

        // A KIP-848 member fenced while fetching the committed offsets of partitions just assigned: it has no epoch
        // (0) until it rejoins, which waits for that reconciliation. Retrying with epoch 0 only meets the same refusal,
        // until the commit timeout, holding the rejoin back as long: fail at once, as the Java client does when it has
        // no valid epoch to retry with.
        var errors = new ErrorCode[200];
        Array.Fill(errors, ErrorCode.StaleMemberEpoch);
        cluster.PushRequestErrors(ApiKey.OffsetFetch, errors);
        var identities = 0;
        var error = await Assert.ThrowsAsync<KafkaErrorException>(() => a.Offsets.FetchAsync(
            [new TopicPartition(topic, 0)], () =>
            {
                Interlocked.Increment(ref identities);
                return new CommitIdentity(0, "member-1", null);
            }, requireStable: true, ct).WaitAsync(Deadline, ct));

        Assert.Equal(ErrorCode.StaleMemberEpoch, error.Code);
        Assert.True(identities <= 2, "not retried: " + identities + " identities asked for");
        cluster.ClearRequestErrors(ApiKey.OffsetFetch);
    }
}
