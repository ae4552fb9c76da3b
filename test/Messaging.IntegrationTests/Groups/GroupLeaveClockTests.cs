using Messaging.Cluster;
using Messaging.Groups;
using Messaging.IntegrationTests.Support;
using Messaging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Messaging.IntegrationTests.Groups;

/// <summary>The time limit on leaving the group (LeaveGroup, the KIP-848 leaving heartbeat) runs on the group's clock.</summary>
public sealed class GroupLeaveClockTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    // Long against the real waits below: a limit left on the system timer shows as a close that does not end.
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    [Fact(Timeout = 90_000)]
    public async Task A_LeaveGroup_the_coordinator_does_not_answer_gives_up_at_the_request_timeout_of_the_groups_clock()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeGroupBroker.Start();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var a = TestMember.Start(broker.BootstrapServers, "group-" + Guid.NewGuid().ToString("N")[..8], "a", s => s with { Time = time, RequestTimeout = RequestTimeout });
        await Until.TrueAsync(() => a.Member.StableGeneration is not null, Deadline, "stable", ct, a);

        broker.LeaveDelay = TimeSpan.FromMinutes(2); // the coordinator holds the LeaveGroup
        var close = a.Member.CloseAsync(leaveGroup: true, ct).AsTask();
        await Until.TrueAsync(() => Volatile.Read(ref broker.Leaves) == 1, Deadline, "the LeaveGroup at the coordinator", ct, a);

        // The request timeout passes on the group's clock: the member stops waiting for the answer.
        time.Advance(RequestTimeout + TimeSpan.FromSeconds(1));
        await Until.TrueAsync(() => close.IsCompleted, Deadline, "the close to end once the leave timed out on the group's clock", ct, a);
        await close;
    }

    [Fact(Timeout = 90_000)]
    public async Task A_leaving_heartbeat_the_coordinator_does_not_answer_gives_up_at_the_request_timeout_of_the_groups_clock()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(1);
        var topic = "kip848-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic, 1, 1);
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var client = new ClusterClient(new KafkaClientOptions { BootstrapServers = cluster.BootstrapServers, ClientId = "kip848-leave" });
        await using var coordinator = new GroupCoordinator(client, new GroupMemberSettings("group-" + Guid.NewGuid().ToString("N")[..8])
        {
            Time = time, // no heartbeat interval passes on it: the leaving heartbeat is the next one sent
            RequestTimeout = RequestTimeout,
            SessionTimeout = TimeSpan.FromSeconds(45),
            HeartbeatInterval = TimeSpan.FromSeconds(3),
        });
        var member = new ConsumerGroupMember(coordinator, ConsumerGroupSubscription.Topics(topic), NoListener.Instance);
        member.Start();
        await Until.TrueAsync(() => member.MemberEpoch > 0, Deadline, "joined", ct);

        // The coordinator holds the next ConsumerGroupHeartbeat: the leaving one.
        cluster.PushBrokerRequestErrors(1, ApiKey.ConsumerGroupHeartbeat, (ErrorCode.None, TimeSpan.FromSeconds(45)));
        var sent = member.HeartbeatsSent;
        var close = member.CloseAsync(leaveGroup: true, ct).AsTask();
        await Until.TrueAsync(() => member.HeartbeatsSent > sent, Deadline, "the leaving heartbeat sent", ct);

        time.Advance(RequestTimeout + TimeSpan.FromSeconds(1));
        await Until.TrueAsync(() => close.IsCompleted, Deadline, "the close to end once the leave timed out on the group's clock", ct);
        await close;
    }

    private sealed class NoListener : IGroupAssignmentListener
    {
        public static readonly NoListener Instance = new();

        public ValueTask OnAssignedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask OnRevokedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask OnLostAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public void OnAssignmentFailed(string problem, Exception? cause)
        {
        }

        public void OnAssignorFailed(string assignor, string method, string consequence, Exception cause)
        {
        }
    }
}
