using Messaging.IntegrationTests.Consumer;
using Messaging.IntegrationTests.Support;
using Messaging.Testing;

namespace Messaging.IntegrationTests.Groups;

/// <summary>A KIP-848 consumer's commit that is still being retried when the coordinator fences the member.</summary>
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
}
