using Messaging.Groups;
using Messaging.Testing;

namespace Messaging.IntegrationTests.Groups;

/// <summary>Classic group membership against the embedded 3-broker cluster, with its fault injection.</summary>
public sealed class ClassicGroupMemberTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(45);

    /// <summary>How long a leader waits for its followers' SyncGroups to reach the coordinator before it sends its own.</summary>
    /// <remarks>Under the embedded coordinator's sync timeout (the session timeout, 3 s at the shortest here).</remarks>
    private static readonly TimeSpan FollowersSyncWait = TimeSpan.FromSeconds(2);

    private static EmbeddedKafkaCluster StartCluster()
    {
        var cluster = EmbeddedKafkaCluster.Start(3);
        cluster.SetGroupInitialRebalanceDelay(TimeSpan.FromMilliseconds(200));
        cluster.StartRequestTracking(); // the leaders' wait reads it (tests restart it, once stable, for their own checks)
        return cluster;
    }

    /// <summary>
    /// Starts a member of a group of several whose leader sends its SyncGroup only once the followers' have reached the
    /// coordinator. librdkafka's mock ends a generation's sync the moment the leader's SyncGroup brings every member's
    /// assignment, and answers a follower's SyncGroup read after that with INVALID_REQUEST (a real coordinator, then
    /// stable, returns the follower its assignment). Our leader assigns at once, so both SyncGroups leave within a
    /// millisecond; the mock, when it gets to them late (a loaded machine), reads them in the order of its connections,
    /// where the leader's (the first member's) came first in every rebalance traced, and the follower, rejoining,
    /// started the same race again, generation after generation, until the test's deadline. librdkafka's own leader
    /// refreshes metadata before it assigns, which lets its followers in first; this wait does the same for ours.
    /// </summary>
    private static TestMember StartMember(EmbeddedKafkaCluster cluster, string group, string name, Func<GroupMemberSettings, GroupMemberSettings>? configure = null) =>
        TestMember.Start(cluster.BootstrapServers, group, name, configure, protocol => protocol.LeaderAssigning = (members, ct) => FollowersSyncedAsync(cluster, members.Count - 1, ct));

    private static async ValueTask FollowersSyncedAsync(EmbeddedKafkaCluster cluster, int followers, CancellationToken ct)
    {
        // Bounded, and over once another JoinGroup comes in (a new rebalance has begun: this sync is void, and the leader
        // must go on and join again before the coordinator elects without it). A member that did not rejoin stays in the
        // coordinator's list until its session times out but sends no SyncGroup: the leader then goes on after the bound,
        // as it would have without the wait.
        var stop = DateTime.UtcNow + FollowersSyncWait;
        var (joins, syncs) = SinceTheLastJoin(cluster);
        while (syncs < followers && DateTime.UtcNow < stop)
        {
            await Task.Delay(5, ct);
            int now;
            (now, syncs) = SinceTheLastJoin(cluster);
            if (now != joins)
            {
                return;
            }
        }
    }

    /// <summary>JoinGroup requests the coordinator has read, and SyncGroup requests since the last of them (the current generation's).</summary>
    private static (int Joins, int Syncs) SinceTheLastJoin(EmbeddedKafkaCluster cluster)
    {
        var requests = cluster.GetTrackedRequests();
        var joins = requests.Count(r => r.ApiKey == ApiKey.JoinGroup);
        var syncs = 0;
        for (var i = requests.Count - 1; i >= 0 && requests[i].ApiKey != ApiKey.JoinGroup; i--)
        {
            syncs += requests[i].ApiKey == ApiKey.SyncGroup ? 1 : 0;
        }

        return (joins, syncs);
    }

    private static string NewGroup() => "group-" + Guid.NewGuid().ToString("N")[..8];

    private static bool AllStableIn(int generation, params TestMember[] members)
    {
        foreach (var m in members)
        {
            if (m.Member.State != ClassicMemberState.Stable || m.Member.Generation.GenerationId != generation
                || m.Protocol.LastAssignment is not { } last || last.Generation != generation)
            {
                return false;
            }
        }

        return true;
    }

    private static bool AllStableTogether(params TestMember[] members)
    {
        var generation = members[0].Member.Generation.GenerationId;
        return generation >= 0 && AllStableIn(generation, members)
            && members[0].Protocol.LastAssignment!.Value.Assignment.EndsWith(":" + members.Length, StringComparison.Ordinal);
    }

    [Fact(Timeout = 90_000)]
    public async Task Three_members_join_one_group_and_each_gets_its_share_from_the_leader()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster();
        var group = NewGroup();
        await using var a = StartMember(cluster, group, "a");
        await using var b = StartMember(cluster, group, "b");
        await using var c = StartMember(cluster, group, "c");

        await Until.TrueAsync(() => AllStableTogether(a, b, c), Deadline, "three members stable in one generation", ct, a, b, c);

        var members = new[] { a, b, c };
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var leaders = 0;
        foreach (var m in members)
        {
            var generation = m.Member.Generation;
            Assert.True(ids.Add(generation.MemberId), "member ids are distinct");
            Assert.Equal("simple", generation.ProtocolName);
            Assert.Equal("assigned:" + generation.MemberId + ":3", m.Protocol.LastAssignment!.Value.Assignment);
            leaders += m.Member.IsLeader ? 1 : 0;
        }

        Assert.Equal(1, leaders);
        Assert.Contains(3, members.Single(m => m.Member.IsLeader).Protocol.AssignCalls);
    }

    [Fact(Timeout = 90_000)]
    public async Task A_member_that_leaves_makes_the_others_rebalance_without_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster();
        var group = NewGroup();
        await using var a = StartMember(cluster, group, "a");
        await using var b = StartMember(cluster, group, "b");
        var c = StartMember(cluster, group, "c");
        await Until.TrueAsync(() => AllStableTogether(a, b, c), Deadline, "three members stable", ct, a, b, c);
        var before = a.Member.Generation.GenerationId;

        cluster.StartRequestTracking();
        await c.DisposeAsync();
        Assert.Contains(cluster.GetTrackedRequests(), r => r.ApiKey == ApiKey.LeaveGroup);
        Assert.Contains("leave " + before, c.Protocol.Events);

        await Until.TrueAsync(() => a.Member.Generation.GenerationId > before && AllStableTogether(a, b), Deadline, "two members rebalanced", ct, a, b);

        // Both revoked cleanly (their generation was valid): prepared, never lost.
        Assert.True(a.Protocol.Prepared >= 1);
        Assert.Equal(0, a.Protocol.Lost);
        Assert.Equal(0, b.Protocol.Lost);
    }

    [Fact(Timeout = 90_000)]
    public async Task A_member_whose_heartbeats_stop_is_removed_after_the_session_timeout()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster();
        var group = NewGroup();
        await using var a = StartMember(cluster, group, "a", s => Session(s, 3));
        var b = StartMember(cluster, group, "b", s => Session(s, 3));
        await Until.TrueAsync(() => AllStableTogether(a, b), Deadline, "two members stable", ct, a, b);
        var before = a.Member.Generation.GenerationId;

        cluster.StartRequestTracking();
        var crashedAt = DateTime.UtcNow;
        await b.CrashAsync();
        await Until.TrueAsync(() => a.Member.Generation.GenerationId > before && AllStableTogether(a), Deadline, "the survivor alone in a new generation", ct, a);

        Assert.DoesNotContain(cluster.GetTrackedRequests(), r => r.ApiKey == ApiKey.LeaveGroup);
        Assert.True(DateTime.UtcNow - crashedAt >= TimeSpan.FromSeconds(2), "removed by the session timeout, not by a leave");
        Assert.Equal("assigned:" + a.Member.Generation.MemberId + ":1", a.Protocol.LastAssignment!.Value.Assignment);
    }

    private static GroupMemberSettings Session(GroupMemberSettings s, int seconds) => s with { SessionTimeout = TimeSpan.FromSeconds(seconds) };

    [Fact(Timeout = 90_000)]
    public async Task A_static_member_does_not_leave_the_group_on_close()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster();
        var group = NewGroup();
        var a = TestMember.Start(cluster.BootstrapServers, group, "a", s => Static(s, "instance-a"));
        await Until.TrueAsync(() => AllStableTogether(a), Deadline, "static member stable", ct, a);

        cluster.StartRequestTracking();
        await a.DisposeAsync();
        Assert.DoesNotContain(cluster.GetTrackedRequests(), r => r.ApiKey == ApiKey.LeaveGroup);
        Assert.Contains(a.Protocol.Events, e => e.StartsWith("leave ", StringComparison.Ordinal)); // revoked locally all the same
    }

    private static GroupMemberSettings Static(GroupMemberSettings s, string instance) => s with { GroupInstanceId = instance };

    [Fact(Timeout = 90_000)]
    public async Task Coordinator_errors_on_join_are_rediscovered_and_retried()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster();
        var group = NewGroup();
        cluster.PushRequestErrors(ApiKey.FindCoordinator, ErrorCode.CoordinatorNotAvailable);
        cluster.PushRequestErrors(ApiKey.SyncGroup, ErrorCode.NotCoordinator, ErrorCode.CoordinatorNotAvailable);
        await using var a = TestMember.Start(cluster.BootstrapServers, group, "a");

        await Until.TrueAsync(() => AllStableTogether(a), Deadline, "stable after the injected coordinator errors", ct, a);
        Assert.True(a.Coordinator.Lookups >= 4, "one lookup refused, then one per coordinator error: " + a.Coordinator.Lookups);
    }

    [Fact(Timeout = 90_000)]
    public async Task A_coordinator_moved_mid_run_is_found_again_and_the_member_stays_in_the_group()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster();
        var group = NewGroup();
        cluster.SetGroupCoordinator(group, 1);
        await using var a = TestMember.Start(cluster.BootstrapServers, group, "a");
        await Until.TrueAsync(() => AllStableTogether(a), Deadline, "stable", ct, a);
        Assert.Equal(1, a.Coordinator.CoordinatorId);
        var lookups = a.Coordinator.Lookups;

        cluster.SetGroupCoordinator(group, 3);
        await Until.TrueAsync(() => a.Coordinator.CoordinatorId == 3, Deadline, "heartbeats follow the coordinator to broker 3", ct, a);
        Assert.True(a.Coordinator.Lookups > lookups);
        var heartbeats = a.Member.HeartbeatsSent;
        await Until.TrueAsync(() => a.Member.HeartbeatsSent > heartbeats + 3, Deadline, "heartbeats continue", ct, a);
        Assert.Equal(ClassicMemberState.Stable, a.Member.State);
    }

    [Fact(Timeout = 90_000)]
    public async Task Heartbeat_rebalance_in_progress_rejoins_with_a_clean_revocation()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster();
        await using var a = TestMember.Start(cluster.BootstrapServers, NewGroup(), "a");
        await Until.TrueAsync(() => AllStableTogether(a), Deadline, "stable", ct, a);
        var before = a.Member.Generation;

        cluster.PushRequestErrors(ApiKey.Heartbeat, ErrorCode.RebalanceInProgress);
        await Until.TrueAsync(() => a.Member.Generation.GenerationId > before.GenerationId && AllStableTogether(a), Deadline, "rejoined", ct, a);

        Assert.Equal(before.MemberId, a.Member.Generation.MemberId);
        Assert.Contains("prepare " + before.GenerationId, a.Protocol.Events);
        Assert.Equal(0, a.Protocol.Lost);
    }

    [Theory(Timeout = 90_000)]
    [InlineData(ErrorCode.UnknownMemberId)]
    [InlineData(ErrorCode.IllegalGeneration)]
    public async Task Heartbeat_generation_errors_report_the_assignment_lost_and_rejoin(ErrorCode error)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster();
        await using var a = TestMember.Start(cluster.BootstrapServers, NewGroup(), "a");
        await Until.TrueAsync(() => AllStableTogether(a), Deadline, "stable", ct, a);
        var before = a.Member.Generation;

        cluster.PushRequestErrors(ApiKey.Heartbeat, error);
        await Until.TrueAsync(() => a.Protocol.Lost == 1, Deadline, "the assignment reported lost", ct, a);
        await Until.TrueAsync(() => a.Member.Generation.GenerationId > before.GenerationId && AllStableTogether(a), Deadline, "rejoined", ct, a);

        // The lost callback came instead of a revocation: there is no "prepare" for the fenced generation.
        Assert.DoesNotContain("prepare " + before.GenerationId, a.Protocol.Events);
    }

    [Fact(Timeout = 90_000)]
    public async Task Heartbeat_fenced_instance_id_stops_a_static_member_for_good()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster();
        await using var a = TestMember.Start(cluster.BootstrapServers, NewGroup(), "a", s => Static(s, "fenced"));
        await Until.TrueAsync(() => AllStableTogether(a), Deadline, "stable", ct, a);

        cluster.PushRequestErrors(ApiKey.Heartbeat, ErrorCode.FencedInstanceId);
        var failure = await a.Member.Failed.WaitAsync(Deadline, ct);

        var group = Assert.IsType<KafkaGroupException>(failure);
        Assert.Equal(ErrorCode.FencedInstanceId, group.Code);
        Assert.Equal(a.Member.GroupId, group.GroupId);
        Assert.Contains(a.Member.GroupId, group.Message, StringComparison.Ordinal);
        Assert.Equal(ClassicMemberState.Failed, a.Member.State);
        Assert.Equal(1, a.Protocol.Lost);
    }

    [Theory(Timeout = 90_000)]
    [InlineData(ErrorCode.IllegalGeneration)]
    [InlineData(ErrorCode.UnknownMemberId)]
    [InlineData(ErrorCode.RebalanceInProgress)]
    [InlineData(ErrorCode.InvalidRequest)]
    public async Task SyncGroup_errors_make_the_member_join_again(ErrorCode error)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster();
        cluster.PushRequestErrors(ApiKey.SyncGroup, error);
        await using var a = TestMember.Start(cluster.BootstrapServers, NewGroup(), "a");

        await Until.TrueAsync(() => AllStableTogether(a), Deadline, "stable after " + error, ct, a);
        Assert.True(a.Member.JoinRequests >= 2, "joined again after " + error);

        // The mock answers an error with a null assignment (non-nullable in the schema): the answer is read, its error
        // handled on the same coordinator connection. Read as malformed, it would drop the connection and look the
        // coordinator up again — and under load that loop kept a member out of its group for good.
        Assert.Equal(1, a.Coordinator.Lookups);
    }

    [Fact(Timeout = 90_000)]
    public async Task A_member_whose_application_stops_polling_leaves_and_rejoins_when_it_polls_again()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster();
        var group = NewGroup();
        await using var a = TestMember.Start(cluster.BootstrapServers, group, "a", s => Poll(s, TimeSpan.FromSeconds(1)));
        await Until.TrueAsync(() => AllStableTogether(a), Deadline, "stable", ct, a);
        cluster.StartRequestTracking();

        // Never polled yet (the application's consume loop has not started): no poll timer runs. Five heartbeats at
        // 300 ms outlast the 1 s max poll interval.
        await Until.TrueAsync(() => cluster.GetTrackedRequests().Count(r => r.ApiKey == ApiKey.Heartbeat) >= 5, Deadline, "five heartbeats", ct, a);
        Assert.False(a.Member.LeftOnPollTimeout);
        Assert.Equal(ClassicMemberState.Stable, a.Member.State);

        // Polled once, then no more: the poll timer runs out.
        a.Member.NotifyPolled();
        await Until.TrueAsync(() => a.Member.LeftOnPollTimeout && a.Protocol.Lost == 1, Deadline, "left on the poll timeout", ct, a);
        Assert.Contains(cluster.GetTrackedRequests(), r => r.ApiKey == ApiKey.LeaveGroup);
        Assert.NotEqual(ClassicMemberState.Stable, a.Member.State);
        var joins = a.Member.JoinRequests;

        a.Member.NotifyPolled();
        await Until.TrueAsync(() => AllStableTogether(a) && a.Member.JoinRequests > joins, Deadline, "rejoined after polling", ct, a);
        Assert.False(a.Member.LeftOnPollTimeout);
    }

    private static GroupMemberSettings Poll(GroupMemberSettings s, TimeSpan maxPoll) => s with { MaxPollInterval = maxPoll };
}
