using Messaging.Groups;
using Messaging.IntegrationTests.Consumer;

namespace Messaging.IntegrationTests.Groups;

/// <summary>A classic consumer's commit refused because the member is out of its generation makes the member rejoin.</summary>
public sealed class ClassicCommitRefusedTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    [Theory(Timeout = 60_000)]
    [InlineData(ErrorCode.IllegalGeneration)]
    [InlineData(ErrorCode.UnknownMemberId)]
    [InlineData(ErrorCode.RebalanceInProgress)]
    public async Task A_commit_refused_for_the_generation_makes_the_member_rejoin_without_waiting_for_a_heartbeat(ErrorCode refusal)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeGroupBroker.Start();
        await using var consumer = new KafkaConsumer(ConsumerTestSupport.ManualCommitGroupOptions(broker.BootstrapServers));
        consumer.Subscribe(["events"]);
        var group = consumer.Group!;
        await Until.TrueAsync(() => group.ClassicMember is { StableGeneration: not null }, Deadline, "stable", ct);
        var member = group.ClassicMember!;
        var joins = member.JoinRequests;

        // The coordinator refuses the commit; its heartbeats keep answering fine, so only the commit's answer tells.
        broker.PushErrors(ApiKey.OffsetCommit, refusal);
        var failure = await Assert.ThrowsAsync<KafkaCommitException>(() => consumer.CommitAsync([new TopicPartitionCommit(new TopicPartition("events", 0), 5)], ct).AsTask());
        Assert.Equal(refusal, failure.Code);

        await Until.TrueAsync(() => member.JoinRequests > joins, Deadline, "a JoinGroup after the refused commit", ct);
    }
}
