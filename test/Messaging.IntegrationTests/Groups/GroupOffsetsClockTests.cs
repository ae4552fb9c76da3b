using Messaging.Cluster;
using Messaging.Groups;
using Microsoft.Extensions.Time.Testing;

namespace Messaging.IntegrationTests.Groups;

/// <summary>Commit deadlines run on the group's clock (its TimeProvider), as its backoffs do.</summary>
public sealed class GroupOffsetsClockTests
{
    [Fact(Timeout = 60_000)]
    public async Task A_commit_that_keeps_being_refused_gives_up_at_the_commit_timeout_of_the_groups_clock()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeGroupBroker.Start();
        broker.CommitsLoading = true; // every attempt is refused as retriable, for ever
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var cluster = new ClusterClient(new KafkaClientOptions { BootstrapServers = broker.BootstrapServers, ClientId = "commit-clock" });
        await using var coordinator = new GroupCoordinator(cluster, new GroupMemberSettings("group-" + Guid.NewGuid().ToString("N")[..8])
        {
            Time = time,
            DefaultApiTimeout = TimeSpan.FromSeconds(5),
            RetryBackoff = TimeSpan.FromMilliseconds(100),
            RetryBackoffMax = TimeSpan.FromMilliseconds(500),
        });
        var offsets = new GroupOffsets(coordinator);

        var commit = offsets.CommitAsync([new OffsetToCommit(new TopicPartition("events", 0), 5)], () => CommitIdentity.Standalone, ct);

        // Thirty seconds pass on the group's clock, a tenth at a time: six times the commit timeout.
        for (var i = 0; i < 300 && !commit.IsCompleted; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(10, ct);
        }

        Assert.True(commit.IsCompleted, "The commit was still retrying 30 s after it started (commit timeout 5 s), after " + broker.Commits.Count + " attempts.");
        var failure = await Assert.ThrowsAsync<KafkaCommitException>(() => commit);
        Assert.Equal(ErrorCode.CoordinatorLoadInProgress, failure.Code);
    }
}
