using System.Collections.Concurrent;
using Messaging.Cluster;
using Messaging.Groups;
using Messaging.IntegrationTests.Support;
using Messaging.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Messaging.IntegrationTests.Groups;

/// <summary>KIP-848 membership (ConsumerGroupHeartbeat) against the embedded cluster, whose mock implements the consumer protocol.</summary>
public sealed class ConsumerGroupMemberTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(45);

    private sealed class Listener : IGroupAssignmentListener
    {
        public ConcurrentQueue<string> Events { get; } = new();

        public int Lost;

        public ValueTask OnAssignedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken)
        {
            Events.Enqueue("assigned " + string.Join(",", partitions.Select(p => p.ToString()).Order(StringComparer.Ordinal)));
            return ValueTask.CompletedTask;
        }

        /// <summary>Run inside <see cref="OnRevokedAsync"/>, when set (a revocation that takes a while).</summary>
        public Func<CancellationToken, ValueTask>? Revoking { get; set; }

        public ValueTask OnRevokedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken)
        {
            Events.Enqueue("revoked " + string.Join(",", partitions.Select(p => p.ToString()).Order(StringComparer.Ordinal)));
            return Revoking?.Invoke(cancellationToken) ?? ValueTask.CompletedTask;
        }

        public ValueTask OnLostAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Lost);
            Events.Enqueue("lost " + string.Join(",", partitions.Select(p => p.ToString()).Order(StringComparer.Ordinal)));
            return ValueTask.CompletedTask;
        }

        public void OnAssignmentFailed(string problem, Exception? cause) => Events.Enqueue("failed " + problem);

        public void OnAssignorFailed(string assignor, string method, string consequence, Exception cause) => Events.Enqueue("assignor failed " + assignor);
    }

    private sealed class Member : IAsyncDisposable
    {
        public required ClusterClient Cluster { get; init; }

        public required GroupCoordinator Coordinator { get; init; }

        public required ConsumerGroupMember Group { get; init; }

        public required Listener Listener { get; init; }

        public required RecordingLoggerFactory Logs { get; init; }

        public string Dump() => Group + " owns " + string.Join(",", Group.Assignment) + "; events " + string.Join(" | ", Listener.Events)
            + Environment.NewLine + string.Join(Environment.NewLine, Logs.Events.Select(e => "  " + e.Level + " " + e.Message));

        public async ValueTask DisposeAsync()
        {
            await Group.DisposeAsync();
            await Coordinator.DisposeAsync();
            await Cluster.DisposeAsync();
        }
    }

    private static Member Start(string bootstrap, string group, string topic, string? instance = null, TimeSpan? maxPoll = null, TimeProvider? time = null)
    {
        var cluster = new ClusterClient(new KafkaClientOptions { BootstrapServers = bootstrap, ClientId = "kip848", ReconnectBackoff = TimeSpan.FromMilliseconds(50), ReconnectBackoffMax = TimeSpan.FromMilliseconds(400) });
        var logs = new RecordingLoggerFactory();
        var coordinator = new GroupCoordinator(cluster, new GroupMemberSettings(group)
        {
            GroupInstanceId = instance,
            LoggerFactory = logs,
            SessionTimeout = TimeSpan.FromSeconds(6),
            HeartbeatInterval = TimeSpan.FromMilliseconds(300),
            RetryBackoff = TimeSpan.FromMilliseconds(50),
            RetryBackoffMax = TimeSpan.FromMilliseconds(300),
            MaxPollInterval = maxPoll ?? TimeSpan.FromMinutes(5),
            Time = time ?? TimeProvider.System,
        });
        var listener = new Listener();
        var member = new ConsumerGroupMember(coordinator, ConsumerGroupSubscription.Topics(topic), listener);
        member.Start();
        return new Member { Cluster = cluster, Coordinator = coordinator, Group = member, Listener = listener, Logs = logs };
    }

    private static async Task WaitAsync(Func<bool> condition, string what, CancellationToken ct, params Member[] members)
    {
        var stop = DateTime.UtcNow + Deadline;
        while (!condition())
        {
            if (DateTime.UtcNow > stop)
            {
                Assert.Fail("Timed out waiting for: " + what + Environment.NewLine + string.Join(Environment.NewLine, members.Select(m => m.Dump())));
            }

            await Task.Delay(20, ct);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task The_embedded_cluster_answers_ConsumerGroupHeartbeat()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(3);
        await using var client = new ClusterClient(new KafkaClientOptions { BootstrapServers = cluster.BootstrapServers });
        var connection = await client.GetAnyAsync(ct);

        Assert.True(connection.ApiVersions.TryGetVersion(ApiKey.ConsumerGroupHeartbeat, out var version),
            "librdkafka " + EmbeddedKafkaCluster.LibrdkafkaVersion + " does not advertise ConsumerGroupHeartbeat");
        Assert.Equal(1, version);
    }

    [Fact(Timeout = 90_000)]
    public async Task Two_members_split_the_partitions_and_one_leaving_hands_them_to_the_other()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(3);
        var topic = "kip848-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic, 6, 1);
        var group = "group-" + Guid.NewGuid().ToString("N")[..8];
        await using var a = Start(cluster.BootstrapServers, group, topic);
        var b = Start(cluster.BootstrapServers, group, topic);

        await WaitAsync(() => a.Group.Assignment.Count + b.Group.Assignment.Count == 6 && a.Group.Assignment.Count > 0 && b.Group.Assignment.Count > 0,
            "six partitions split between two members", ct, a, b);
        Assert.Empty(a.Group.Assignment.Intersect(b.Group.Assignment));
        Assert.True(a.Group.MemberEpoch > 0);

        await b.DisposeAsync();
        await WaitAsync(() => a.Group.Assignment.Count == 6, "the survivor owns every partition", ct, a);
        Assert.Equal(0, a.Listener.Lost);
    }

    [Fact(Timeout = 90_000)]
    public async Task A_close_whose_revocation_the_caller_cancels_still_sends_the_leaving_heartbeat()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(3);
        var topic = "kip848-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic, 3, 1);
        await using var a = Start(cluster.BootstrapServers, "group-" + Guid.NewGuid().ToString("N")[..8], topic);
        await WaitAsync(() => a.Group.Assignment.Count == 3, "assigned", ct, a);

        // The application's revocation waits until the caller gives up on the close. It runs once the member's loops
        // have stopped: any heartbeat counted after it began is the leaving one.
        var revoking = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        a.Listener.Revoking = async token =>
        {
            revoking.TrySetResult(a.Group.HeartbeatsSent);
            await Task.Delay(Timeout.InfiniteTimeSpan, token);
        };
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var close = a.Group.CloseAsync(leaveGroup: true, cancel.Token).AsTask();
        var sent = await revoking.Task.WaitAsync(Deadline, ct);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => close.WaitAsync(Deadline, ct));
        Assert.True(a.Group.HeartbeatsSent == sent + 1, "no leaving heartbeat after the cancelled revocation" + Environment.NewLine + a.Dump());
    }

    [Fact(Timeout = 90_000)]
    public async Task The_max_poll_interval_runs_only_once_the_application_has_polled()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(3);
        var topic = "kip848-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic, 3, 1);
        await using var a = Start(cluster.BootstrapServers, "group-" + Guid.NewGuid().ToString("N")[..8], topic, maxPoll: TimeSpan.FromMilliseconds(500));
        await WaitAsync(() => a.Group.Assignment.Count == 3, "assigned", ct, a);

        // Never polled (the application's consume loop has not started): heartbeats go on well past the interval.
        cluster.StartRequestTracking();
        await WaitAsync(() => cluster.GetTrackedRequests().Count(r => r.ApiKey == ApiKey.ConsumerGroupHeartbeat) >= 3, "three more heartbeats", ct, a);
        Assert.Equal(0, a.Listener.Lost);
        Assert.Equal(3, a.Group.Assignment.Count);

        // Polled once, then no more: it leaves, its partitions lost.
        a.Group.NotifyPolled();
        await WaitAsync(() => a.Listener.Lost == 1, "lost on the poll timeout", ct, a);
    }

    [Theory(Timeout = 90_000)]
    [InlineData(ErrorCode.FencedMemberEpoch)]
    [InlineData(ErrorCode.UnknownMemberId)]
    public async Task A_fenced_member_reports_its_partitions_lost_and_rejoins_with_epoch_zero(ErrorCode error)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(3);
        var topic = "kip848-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic, 3, 1);
        await using var a = Start(cluster.BootstrapServers, "group-" + Guid.NewGuid().ToString("N")[..8], topic);
        await WaitAsync(() => a.Group.Assignment.Count == 3, "assigned", ct, a);
        var memberId = a.Group.MemberId;

        cluster.PushRequestErrors(ApiKey.ConsumerGroupHeartbeat, error);
        await WaitAsync(() => a.Listener.Lost == 1 && a.Group.Assignment.Count == 3, "lost, then assigned again", ct, a);

        Assert.Equal(1, a.Group.Fencings);
        Assert.Equal(memberId, a.Group.MemberId); // KIP-1082: the member keeps its id across a fencing
        var events = a.Listener.Events.ToArray();
        Assert.True(events.Any(e => e.StartsWith("lost ", StringComparison.Ordinal)), a.Dump());
    }

    [Fact(Timeout = 90_000)]
    public async Task Coordinator_errors_on_heartbeats_are_retried_after_rediscovery()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(3);
        var topic = "kip848-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic, 2, 1);
        cluster.PushRequestErrors(ApiKey.ConsumerGroupHeartbeat, ErrorCode.NotCoordinator, ErrorCode.CoordinatorNotAvailable, ErrorCode.CoordinatorLoadInProgress);
        await using var a = Start(cluster.BootstrapServers, "group-" + Guid.NewGuid().ToString("N")[..8], topic);

        await WaitAsync(() => a.Group.Assignment.Count == 2, "assigned after the errors", ct, a);
        Assert.True(a.Coordinator.Lookups >= 3);
        Assert.Null(a.Group.Failure);
    }

    [Theory(Timeout = 90_000)]
    [InlineData(ErrorCode.UnreleasedInstanceId)]
    [InlineData(ErrorCode.FencedInstanceId)]
    [InlineData(ErrorCode.GroupMaxSizeReached)]
    public async Task Fatal_heartbeat_errors_stop_the_member_with_a_typed_error(ErrorCode error)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(3);
        var topic = "kip848-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic, 2, 1);
        var group = "group-" + Guid.NewGuid().ToString("N")[..8];
        await using var a = Start(cluster.BootstrapServers, group, topic, instance: "static-1");
        await WaitAsync(() => a.Group.Assignment.Count == 2, "assigned", ct, a);

        cluster.PushRequestErrors(ApiKey.ConsumerGroupHeartbeat, error);
        var failure = Assert.IsType<KafkaGroupException>(await a.Group.Failed.WaitAsync(Deadline, ct));
        Assert.Equal(error, failure.Code);
        Assert.Equal(group, failure.GroupId);
        Assert.Equal(1, a.Listener.Lost);
        Assert.Empty(a.Group.Assignment);
    }

    [Fact(Timeout = 90_000)]
    public async Task A_revocation_that_ends_while_a_heartbeat_is_in_flight_is_acknowledged_once_that_heartbeat_is_answered()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(1);
        var first = "kip848-" + Guid.NewGuid().ToString("N")[..8];
        var second = "kip848-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(first, 2, 1);
        cluster.CreateTopic(second, 2, 1);

        // On a clock no interval passes on unless the test moves it: the member heartbeats by itself only when it has
        // something to tell at once (joining, a new subscription, an acknowledgment).
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var a = Start(cluster.BootstrapServers, "group-" + Guid.NewGuid().ToString("N")[..8], first, time: time);
        await AdvanceUntilAsync(time, () => a.Group.Assignment.Count == 2, "both partitions of the first topic", ct, a);

        // The subscription moves to the second topic: the revocation of the first one's partitions is held.
        var revoking = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        a.Listener.Revoking = async token =>
        {
            revoking.TrySetResult();
            await release.Task.WaitAsync(token);
        };
        a.Group.Subscribe(ConsumerGroupSubscription.Topics(second));
        await AdvanceUntilAsync(time, () => revoking.Task.IsCompleted, "the revocation of the first topic's partitions", ct, a);

        // A heartbeat goes out on the interval while the revocation runs, and its answer is held back: the revocation
        // ends while it is in flight.
        cluster.PushBrokerRequestErrors(1, ApiKey.ConsumerGroupHeartbeat, (ErrorCode.None, TimeSpan.FromSeconds(1)));
        var sent = a.Group.HeartbeatsSent;
        await AdvanceUntilAsync(time, () => a.Group.HeartbeatsSent > sent, "a heartbeat in flight during the revocation", ct, a);
        sent = a.Group.HeartbeatsSent;
        release.SetResult();

        // The coordinator waits for that acknowledgment before it moves the partitions on: it goes out as soon as the
        // heartbeat in flight is answered, not an interval later (the clock does not move from here on).
        await WaitAsync(() => a.Group.HeartbeatsSent > sent, "the acknowledgment of the revocation, with the clock standing still", ct, a);
    }

    [Fact(Timeout = 90_000)]
    public async Task A_member_closed_while_its_joining_heartbeat_is_unanswered_leaves_the_group()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(1);
        var topic = "kip848-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic, 2, 1);
        var group = "group-" + Guid.NewGuid().ToString("N")[..8];

        // The coordinator takes the member in, but its answer (the member's epoch) is held back: the application closes
        // the consumer meanwhile.
        cluster.PushBrokerRequestErrors(1, ApiKey.ConsumerGroupHeartbeat, (ErrorCode.None, TimeSpan.FromSeconds(10)));
        var a = Start(cluster.BootstrapServers, group, topic);
        await WaitAsync(() => a.Group.HeartbeatsSent == 1, "the joining heartbeat sent", ct, a);
        await a.DisposeAsync();
        Assert.Equal(2, a.Group.HeartbeatsSent); // the leaving one

        // Left, it holds nothing: the next member gets every partition now, not once the coordinator has given up on
        // the first at its session timeout (30 s on the embedded cluster).
        await using var b = Start(cluster.BootstrapServers, group, topic);
        await Until.TrueAsync(() => b.Group.Assignment.Count == 2, TimeSpan.FromSeconds(15), "the second member owning both partitions", ct);
    }

    /// <summary>Moves <paramref name="time"/> on by a heartbeat interval at a time until <paramref name="condition"/> holds.</summary>
    private static async Task AdvanceUntilAsync(FakeTimeProvider time, Func<bool> condition, string what, CancellationToken ct, params Member[] members)
    {
        var stop = DateTime.UtcNow + Deadline;
        while (!condition())
        {
            if (DateTime.UtcNow > stop)
            {
                Assert.Fail("Timed out waiting for: " + what + Environment.NewLine + string.Join(Environment.NewLine, members.Select(m => m.Dump())));
            }

            time.Advance(TimeSpan.FromSeconds(10));
            await Task.Delay(50, ct);
        }
    }

    [Fact(Timeout = 90_000)]
    public async Task A_heartbeat_refused_with_TOPIC_AUTHORIZATION_FAILED_is_reported_and_the_member_stays_in_the_group()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(1);
        var topic = "kip848-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic, 2, 1);
        await using var a = Start(cluster.BootstrapServers, "group-" + Guid.NewGuid().ToString("N")[..8], topic);
        await WaitAsync(() => a.Group.Assignment.Count == 2, "assigned", ct, a);

        // The subscription names a topic the member may not describe (an ACL not granted yet): Java's heartbeat
        // manager reports it to the application's poll and goes on heartbeating, so the member recovers once the ACL
        // is in; it is not fatal.
        cluster.PushRequestErrors(ApiKey.ConsumerGroupHeartbeat, ErrorCode.TopicAuthorizationFailed);
        await WaitAsync(() => a.Listener.Events.Any(e => e.StartsWith("failed ", StringComparison.Ordinal) && e.Contains("TOPIC_AUTHORIZATION_FAILED", StringComparison.Ordinal)) || a.Group.Failure is not null,
            "the refusal reported", ct, a);
        var sent = a.Group.HeartbeatsSent;
        await WaitAsync(() => a.Group.HeartbeatsSent >= sent + 2 || a.Group.Failure is not null, "heartbeats after the refusal", ct, a);

        Assert.Null(a.Group.Failure);
        Assert.Equal(0, a.Listener.Lost);
        Assert.Equal(2, a.Group.Assignment.Count);
    }

    [Fact(Timeout = 90_000)]
    public async Task A_commit_with_the_member_epoch_round_trips()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(3);
        var topic = "kip848-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic, 2, 1);
        await using var a = Start(cluster.BootstrapServers, "group-" + Guid.NewGuid().ToString("N")[..8], topic);
        await WaitAsync(() => a.Group.Assignment.Count == 2, "assigned", ct, a);
        var offsets = new GroupOffsets(a.Coordinator);

        await offsets.CommitAsync([new OffsetToCommit(new TopicPartition(topic, 1), 9)], () => a.Group.CommitIdentity, ct);
        var committed = await offsets.FetchAsync([new TopicPartition(topic, 1)], () => a.Group.CommitIdentity, requireStable: true, ct);

        Assert.Equal(9, committed[new TopicPartition(topic, 1)].Offset);
    }
}
