using Messaging.Groups;
using Messaging.Groups.Assignors;
using Messaging.IntegrationTests.Consumer;

namespace Messaging.IntegrationTests.Groups;

/// <summary>
/// Classic membership against <see cref="FakeGroupBroker"/>: JoinGroup errors with well-formed responses, the
/// MEMBER_ID_REQUIRED handshake, static membership across a restart, and the flexible message versions.
/// </summary>
public sealed class ClassicFakeCoordinatorTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private static string NewGroup() => "group-" + Guid.NewGuid().ToString("N")[..8];

    [Fact(Timeout = 60_000)]
    public async Task The_first_join_gets_a_member_id_and_rejoins_with_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeGroupBroker.Start();
        await using var a = TestMember.Start(broker.BootstrapServers, NewGroup(), "a");

        await Until.TrueAsync(() => a.Member.StableGeneration is not null, Deadline, "stable", ct, a);

        var joins = broker.Joins.ToArray();
        Assert.Equal(2, joins.Length);
        Assert.Equal("", joins[0].MemberId);
        Assert.Equal("fake-member-1", joins[1].MemberId);
        Assert.Equal("fake-member-1", a.Member.Generation.MemberId);
        Assert.Equal("assigned:fake-member-1:1", a.Protocol.LastAssignment!.Value.Assignment);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(ErrorCode.RebalanceInProgress)]
    [InlineData(ErrorCode.UnknownMemberId)]
    [InlineData(ErrorCode.CoordinatorLoadInProgress)]
    [InlineData(ErrorCode.NotCoordinator)]
    [InlineData(ErrorCode.CoordinatorNotAvailable)]
    public async Task Retriable_join_errors_end_in_a_stable_member(ErrorCode error)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeGroupBroker.Start();
        broker.PushErrors(ApiKey.JoinGroup, error); // before the member starts: its first JoinGroup must meet the error
        await using var a = TestMember.Start(broker.BootstrapServers, NewGroup(), "a", s => Static(s, "static-a"));

        await Until.TrueAsync(() => a.Member.StableGeneration is not null, Deadline, "stable after " + error, ct, a);
        Assert.Equal(2, broker.Joins.Count);
        Assert.Null(a.Member.Failure);
        Assert.Contains(a.Logs.Events, e => e.Message.Contains("JoinGroup", StringComparison.Ordinal)
            && (e.Message.Contains(ErrorCodes.Name(error), StringComparison.Ordinal) || e.Message.Contains(error.ToString(), StringComparison.Ordinal)));
    }

    [Theory(Timeout = 60_000)]
    [InlineData(ErrorCode.GroupMaxSizeReached)]
    [InlineData(ErrorCode.FencedInstanceId)]
    [InlineData(ErrorCode.UnreleasedInstanceId)]
    [InlineData(ErrorCode.InconsistentGroupProtocol)]
    [InlineData(ErrorCode.GroupAuthorizationFailed)]
    [InlineData(ErrorCode.InvalidSessionTimeout)]
    public async Task Fatal_join_errors_stop_the_member_with_a_typed_error(ErrorCode error)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeGroupBroker.Start();
        broker.PushErrors(ApiKey.JoinGroup, error);
        var group = NewGroup();
        await using var a = TestMember.Start(broker.BootstrapServers, group, "a", s => Static(s, "static-a"));

        var failure = Assert.IsType<KafkaGroupException>(await a.Member.Failed.WaitAsync(Deadline, ct));
        Assert.Equal(error, failure.Code);
        Assert.Equal(group, failure.GroupId);
        Assert.Contains(group, failure.Message, StringComparison.Ordinal);
        Assert.Contains(ErrorCodes.Name(error), failure.Message, StringComparison.Ordinal);
        Assert.Equal(ClassicMemberState.Failed, a.Member.State);
        Assert.Single(broker.Joins);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_rejoin_asked_for_just_after_the_join_read_the_protocols_is_not_lost_when_that_join_completes()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeGroupBroker.Start();
        await using var a = TestMember.Start(broker.BootstrapServers, NewGroup(), "a");
        await Until.TrueAsync(() => a.Member.StableGeneration is not null, Deadline, "stable", ct, a);

        // The subscription changes (a pattern matched a new topic) once the join has read the protocols, before its
        // JoinGroup goes out: that join announces the old subscription, so the change is still owed after it.
        var changed = 0;
        a.Protocol.ProtocolsRead = () =>
        {
            if (Interlocked.Exchange(ref changed, 1) == 0)
            {
                a.Member.RequestRejoin("the subscription pattern matches other topics now");
            }
        };
        var joins = broker.Joins.Count;
        var rebalances = a.Member.CompletedRebalances;
        a.Member.RequestRejoin("the subscription changed");

        await Until.TrueAsync(() => broker.Joins.Count == joins + 2 && a.Member.StableGeneration is not null && a.Member.CompletedRebalances == rebalances + 2, Deadline,
            "a second join for the change made while the first read the protocols, and a stable member after it", ct, a);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_rebalance_the_coordinator_announces_on_a_heartbeat_while_the_join_reads_the_protocols_is_answered_by_that_join()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeGroupBroker.Start();
        await using var a = TestMember.Start(broker.BootstrapServers, NewGroup(), "a");
        await Until.TrueAsync(() => a.Member.StableGeneration is not null, Deadline, "stable", ct, a);

        // Once the join has read the protocols, before its JoinGroup goes out, a heartbeat is answered
        // REBALANCE_IN_PROGRESS: the coordinator wants a rebalance, and the JoinGroup about to go out is one. Held here
        // until the heartbeat after it is sent, so its answer has been handled while the member was still stable.
        var answered = false;
        var read = 0;
        a.Protocol.ProtocolsRead = () =>
        {
            if (Interlocked.Exchange(ref read, 1) == 0)
            {
                var sent = a.Member.HeartbeatsSent;
                broker.PushErrors(ApiKey.Heartbeat, ErrorCode.RebalanceInProgress);
                answered = SpinWait.SpinUntil(() => a.Member.HeartbeatsSent >= sent + 2, Deadline);
            }
        };
        var joins = broker.Joins.Count;
        var rebalances = a.Member.CompletedRebalances;
        a.Member.RequestRejoin("the subscription changed");

        await Until.TrueAsync(() => a.Member.StableGeneration is not null && a.Member.CompletedRebalances >= rebalances + 1, Deadline, "the rejoin completed", ct, a);
        Assert.True(answered, "the heartbeat answered REBALANCE_IN_PROGRESS while the join read the protocols");

        // A second join would start at once; three heartbeats later there must still have been only one.
        var heartbeats = a.Member.HeartbeatsSent;
        await Until.TrueAsync(() => a.Member.HeartbeatsSent >= heartbeats + 3, Deadline, "three heartbeats after the rejoin", ct, a);
        Assert.Equal(joins + 1, broker.Joins.Count);
        Assert.Equal(rebalances + 1, a.Member.CompletedRebalances);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_rejoin_asked_for_while_a_join_is_in_flight_is_not_lost_when_that_join_completes()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeGroupBroker.Start();
        broker.JoinDelay = TimeSpan.FromMilliseconds(500);
        await using var a = TestMember.Start(broker.BootstrapServers, NewGroup(), "a");

        // The second JoinGroup (with the member id) is held back: ask for a rejoin meanwhile (a pattern matched a new
        // topic, a partition count changed).
        await Until.TrueAsync(() => broker.Joins.Count == 2, Deadline, "the join with the member id in flight", ct, a);
        a.Member.RequestRejoin("the subscription changed while joining");
        broker.JoinDelay = TimeSpan.Zero;

        await Until.TrueAsync(() => broker.Joins.Count == 3 && a.Member.StableGeneration is not null && a.Member.CompletedRebalances == 2, Deadline,
            "a third join for the rejoin asked for during the second, and a stable member after it", ct, a);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_static_member_restarted_within_the_session_timeout_keeps_its_assignment_without_a_rebalance()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeGroupBroker.Start();
        var group = NewGroup();
        var first = TestMember.Start(broker.BootstrapServers, group, "first", s => Static(s, "instance-1"));
        await Until.TrueAsync(() => first.Member.StableGeneration is not null, Deadline, "stable", ct, first);
        var generation = broker.Generation;
        var assignment = first.Protocol.LastAssignment!.Value.Assignment;

        await first.DisposeAsync();
        Assert.Equal(0, broker.Leaves); // a static member does not leave

        await using var second = TestMember.Start(broker.BootstrapServers, group, "second", s => Static(s, "instance-1"));
        await Until.TrueAsync(() => second.Member.StableGeneration is not null, Deadline, "restarted member stable", ct, second);

        Assert.Equal(generation, broker.Generation);
        Assert.Equal(generation, second.Member.Generation.GenerationId);
        Assert.Equal(assignment, second.Protocol.LastAssignment!.Value.Assignment);
        Assert.Empty(second.Protocol.AssignCalls); // the leader skipped the assignment (KIP-814)
    }

    [Fact(Timeout = 60_000)]
    public async Task A_static_leader_restarted_without_assigning_still_watches_its_topics_and_assigns_a_partition_added_later()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeGroupBroker.Start();
        broker.SetPartitions("events", 2);
        var group = NewGroup();
        KafkaConsumerOptions Options() => HeldPartitionsOptions(broker.BootstrapServers, group, o =>
        {
            o.GroupInstanceId = "instance-1";
            o.MetadataMaxAge = TimeSpan.FromMilliseconds(200);
        });

        var first = new KafkaConsumer(Options());
        first.Subscribe(["events"]);
        await Until.TrueAsync(() => first.Assignment.Count == 2, Deadline, "the first instance assigned both partitions", ct);
        await first.DisposeAsync(); // a static member does not leave: its restart gets the group's assignment back

        await using var restarted = new KafkaConsumer(Options());
        restarted.Subscribe(["events"]);
        await Until.TrueAsync(() => restarted.Assignment.Count == 2 && restarted.Group!.ClassicMember is { IsLeader: true, StableGeneration: not null }, Deadline,
            "the restarted instance, leader with the assignment it kept (KIP-814: it skipped the assignment)", ct);

        // A partition added to the topic: the leader, whether it assigned or skipped, must see it and rebalance.
        broker.SetPartitions("events", 3);
        await Until.TrueAsync(() => restarted.Assignment.Count == 3, Deadline, "the restarted static leader rebalancing for the partition added to its topic", ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task An_assignment_that_cannot_be_read_reaches_the_application_as_a_group_error_and_the_member_rejoins()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeGroupBroker.Start();
        broker.SetPartitions("events", 2);

        // Version 0, one topic whose name claims 100 bytes that are not there.
        broker.SyncAnswers.Enqueue([0, 0, 0, 0, 0, 1, 0, 100, (byte)'e']);
        await using var consumer = new KafkaConsumer(HeldPartitionsOptions(broker.BootstrapServers, NewGroup()));
        consumer.Subscribe(["events"]);

        await Until.TrueAsync(() => consumer.Group!.ClassicMember!.JoinRequests > 2 && consumer.Assignment.Count == 2, Deadline,
            "a rejoin after the unreadable assignment, and both partitions assigned by it", ct);
        var failure = await Assert.ThrowsAsync<KafkaGroupException>(() => consumer.ConsumeBatchAsync(ct).AsTask().WaitAsync(Deadline, ct));
        Assert.IsType<KafkaProtocolException>(failure.InnerException);
        Assert.Contains("assignment", failure.Message, StringComparison.Ordinal);
        Assert.Null(consumer.Group!.ClassicMember!.Failure);
    }

    [Fact(Timeout = 60_000)]
    public async Task An_assignment_of_a_topic_the_member_does_not_subscribe_to_is_not_taken_and_the_member_rejoins()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeGroupBroker.Start();
        broker.SetPartitions("events", 2);
        broker.SetPartitions("other", 1);

        // A leader that assigned for an older subscription (or a buggy assignor): a partition of a topic this member
        // does not subscribe to.
        broker.SyncAnswers.Enqueue(ConsumerProtocol.SerializeAssignment(new ConsumerAssignment([new TopicPartition("other", 0)])));
        var listener = new AssignedPartitions();
        await using var consumer = new KafkaConsumer(HeldPartitionsOptions(broker.BootstrapServers, NewGroup()));
        consumer.Subscribe(["events"], listener);

        await Until.TrueAsync(() => consumer.Group!.ClassicMember!.JoinRequests > 2 && consumer.Assignment.Count == 2, Deadline,
            "a rejoin after the assignment that does not match the subscription, and both partitions of events assigned by it", ct);
        Assert.DoesNotContain(listener.Assigned, p => p.Topic == "other");
        Assert.All(consumer.Assignment, p => Assert.Equal("events", p.Topic));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_coordinator_that_stops_answering_heartbeats_is_looked_up_again_at_session_expiry_not_a_request_timeout_later()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeGroupBroker.Start();
        await using var a = TestMember.Start(broker.BootstrapServers, NewGroup(), "a", s => s with { RequestTimeout = TimeSpan.FromMinutes(5) });
        await Until.TrueAsync(() => a.Member.StableGeneration is not null, Deadline, "stable", ct, a);
        var lookups = a.Coordinator.Lookups;

        // The connection stays up but heartbeats go unanswered: the 4 s session, not the 5 min request timeout, decides.
        broker.HeartbeatDelay = TimeSpan.FromMinutes(10);
        await Until.TrueAsync(() => a.Coordinator.Lookups > lookups, Deadline, "the coordinator looked up again once the session ran out without a heartbeat response", ct, a);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_rejoin_that_comes_after_close_began_is_not_sent_and_does_not_hold_the_LeaveGroup_behind_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeGroupBroker.Start();
        await using var a = TestMember.Start(broker.BootstrapServers, NewGroup(), "a");
        await Until.TrueAsync(() => a.Member.StableGeneration is not null, Deadline, "stable", ct, a);

        // A rejoin's prepare callback is still running when the application closes; it finishes its work rather than
        // give up (as a revocation listener committing offsets may), so the rejoin's JoinGroup comes after close looked
        // for one in flight — with the close's cancellation already on it, so it is never written. Were it written, the
        // coordinator would hold it (a rebalance waiting for the other members) and the LeaveGroup must not wait for it.
        var preparing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        a.Protocol.Preparing = async token =>
        {
            preparing.TrySetResult();
            try
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, token);
            }
            catch (OperationCanceledException)
            {
            }
        };
        broker.JoinDelay = TimeSpan.FromMinutes(2);
        var joins = broker.Joins.Count;
        a.Member.RequestRejoin("the subscription changed");
        await preparing.Task.WaitAsync(Deadline, ct);

        var close = a.Member.CloseAsync(leaveGroup: true, ct).AsTask();
        await Until.TrueAsync(() => Volatile.Read(ref broker.Leaves) == 1, Deadline, "the LeaveGroup at the coordinator", ct, a);
        await close.WaitAsync(Deadline, ct);
        Assert.Equal(joins, broker.Joins.Count); // the cancelled JoinGroup never reached the coordinator
    }

    [Fact(Timeout = 60_000)]
    public async Task A_close_whose_revocation_the_caller_cancels_still_leaves_the_group_and_closes_the_member()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeGroupBroker.Start();
        await using var a = TestMember.Start(broker.BootstrapServers, NewGroup(), "a");
        await Until.TrueAsync(() => a.Member.StableGeneration is not null, Deadline, "stable", ct, a);

        // The application's revocation waits until the caller gives up on the close.
        var revoking = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        a.Protocol.Leaving = async token =>
        {
            revoking.TrySetResult();
            await Task.Delay(Timeout.InfiniteTimeSpan, token);
        };
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var close = a.Member.CloseAsync(leaveGroup: true, cancel.Token).AsTask();
        await revoking.Task.WaitAsync(Deadline, ct);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => close.WaitAsync(Deadline, ct));
        Assert.Equal(1, Volatile.Read(ref broker.Leaves)); // the group moves the partitions now, not a session timeout later
        Assert.Equal(ClassicMemberState.Closed, a.Member.State);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_SyncGroup_in_flight_at_close_does_not_hold_the_LeaveGroup_behind_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeGroupBroker.Start();
        await using var a = TestMember.Start(broker.BootstrapServers, NewGroup(), "a");
        await Until.TrueAsync(() => a.Member.StableGeneration is not null, Deadline, "stable", ct, a);

        // The coordinator holds a follower's SyncGroup until the leader's assignment is in (up to the rebalance
        // timeout), and everything after it on the same connection: the application closes meanwhile.
        broker.SyncDelay = TimeSpan.FromMinutes(2);
        var syncs = Volatile.Read(ref broker.Syncs);
        a.Member.RequestRejoin("the subscription changed");
        await Until.TrueAsync(() => Volatile.Read(ref broker.Syncs) > syncs, Deadline, "the rejoin's SyncGroup at the coordinator", ct, a);

        var close = a.Member.CloseAsync(leaveGroup: true, ct).AsTask();
        await Until.TrueAsync(() => Volatile.Read(ref broker.Leaves) == 1, Deadline, "the LeaveGroup at the coordinator while the SyncGroup is held", ct, a);
        await close.WaitAsync(Deadline, ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_fatal_heartbeat_error_during_a_callback_reports_the_loss_after_that_callback_not_alongside_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeGroupBroker.Start();
        await using var a = TestMember.Start(broker.BootstrapServers, NewGroup(), "a", s => Static(s, "static-a"));
        await Until.TrueAsync(() => a.Member.StableGeneration is not null, Deadline, "stable", ct, a);

        // A rebalance's assignment callback is still running (the application starting its partitions) when a
        // heartbeat finds the member fenced for good: the callbacks are the application's, one at a time, so the loss
        // is reported once the assignment callback has returned — and it is reported, for what was just assigned.
        var order = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var assigning = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        a.Protocol.Assigning = async token =>
        {
            assigning.TrySetResult();
            await release.Task.WaitAsync(token);
            order.Enqueue("assigned returned");
        };
        a.Protocol.Losing = () => order.Enqueue("lost");
        a.Member.RequestRejoin("the subscription changed");
        await assigning.Task.WaitAsync(Deadline, ct);

        broker.PushErrors(ApiKey.Heartbeat, ErrorCode.FencedInstanceId);
        await Until.TrueAsync(() => a.Member.Failure is not null, Deadline, "the member failed on FENCED_INSTANCE_ID", ct, a);
        release.SetResult();

        var failure = Assert.IsType<KafkaGroupException>(await a.Member.Failed.WaitAsync(Deadline, ct));
        Assert.Equal(ErrorCode.FencedInstanceId, failure.Code);
        Assert.Equal(["assigned returned", "lost"], order.ToArray());
    }

    private sealed class AssignedPartitions : IConsumerRebalanceListener
    {
        public System.Collections.Concurrent.ConcurrentQueue<TopicPartition> Assigned { get; } = new();

        public ValueTask OnPartitionsAssignedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken)
        {
            foreach (var partition in partitions)
            {
                Assigned.Enqueue(partition);
            }

            return ValueTask.CompletedTask;
        }

        public ValueTask OnPartitionsRevokedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    /// <summary>A consumer of a new group whose partitions are held, never fetched: the fake has no records to fetch.</summary>
    internal static KafkaConsumerOptions HeldPartitionsOptions(string bootstrap, string group, Action<KafkaConsumerOptions>? configure = null) =>
        ConsumerTestSupport.Options(bootstrap, o =>
        {
            o.GroupId = group;
            o.EnableAutoCommit = false;
            o.SessionTimeout = TimeSpan.FromSeconds(6);
            o.HeartbeatInterval = TimeSpan.FromMilliseconds(200);
            o.AutoOffsetReset = AutoOffsetReset.Error; // no committed offsets: each partition is held with an error
            configure?.Invoke(o);
        });

    private static GroupMemberSettings Static(GroupMemberSettings s, string instance) => s with { GroupInstanceId = instance };
}
