using System.Collections.Concurrent;
using Messaging.Cluster;
using Messaging.Groups;
using Messaging.IntegrationTests.Support;
using Messaging.Testing;

namespace Messaging.IntegrationTests.Groups;

/// <summary>KIP-848 reconciliation when resolving the target's topic ids through metadata fails for a while.</summary>
public sealed class ConsumerGroupReconcileTests
{
    private sealed class Listener : IGroupAssignmentListener
    {
        public ConcurrentQueue<string> Events { get; } = new();

        public ValueTask OnAssignedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken)
        {
            Events.Enqueue("assigned " + string.Join(",", partitions));
            return ValueTask.CompletedTask;
        }

        public ValueTask OnRevokedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken)
        {
            Events.Enqueue("revoked " + string.Join(",", partitions));
            return ValueTask.CompletedTask;
        }

        public ValueTask OnLostAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken)
        {
            Events.Enqueue("lost " + string.Join(",", partitions));
            return ValueTask.CompletedTask;
        }

        public void OnAssignmentFailed(string problem, Exception? cause) => Events.Enqueue("failed " + problem);

        public void OnAssignorFailed(string assignor, string method, string consequence, Exception cause) => Events.Enqueue("assignor failed " + assignor);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_failed_metadata_refresh_while_resolving_the_target_is_retried_not_the_end_of_reconciliation(bool longestBackoff)
    {
        // The consumer's RetryBackoff may be TimeSpan.MaxValue: the group's retries back off at RetryBackoffMax then.
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(1);
        var topic = "kip848-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic, 2, 1);
        await using var client = new ClusterClient(new KafkaClientOptions
        {
            BootstrapServers = cluster.BootstrapServers,
            ClientId = "kip848-reconcile",
            RequestTimeout = TimeSpan.FromMilliseconds(500),
            ReconnectBackoff = TimeSpan.FromMilliseconds(50),
            ReconnectBackoffMax = TimeSpan.FromMilliseconds(200),
        });

        // A first snapshot without the topic: the member's target names a topic id the client does not know yet.
        await client.Metadata.RefreshAsync(ct);
        Assert.False(client.Metadata.Current.Topics.ContainsKey(topic));

        // The next metadata requests time out (the broker is slow to answer them): the refresh the member makes to
        // resolve its target fails.
        cluster.PushBrokerRequestErrors(1, ApiKey.Metadata, (ErrorCode.None, TimeSpan.FromSeconds(2)), (ErrorCode.None, TimeSpan.FromSeconds(2)));

        var logs = new RecordingLoggerFactory();
        await using var coordinator = new GroupCoordinator(client, new GroupMemberSettings("group-" + Guid.NewGuid().ToString("N")[..8])
        {
            LoggerFactory = logs,
            SessionTimeout = TimeSpan.FromSeconds(6),
            HeartbeatInterval = TimeSpan.FromMilliseconds(300),
            RetryBackoff = longestBackoff ? TimeSpan.MaxValue : TimeSpan.FromMilliseconds(50),
            RetryBackoffMax = TimeSpan.FromMilliseconds(300),
        });
        var listener = new Listener();
        await using var member = new ConsumerGroupMember(coordinator, ConsumerGroupSubscription.Topics(topic), listener);
        member.Start();

        var stop = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (member.Assignment.Count != 2 || listener.Events.IsEmpty)
        {
            if (DateTime.UtcNow > stop)
            {
                Assert.Fail("The member never reconciled its target (epoch " + member.MemberEpoch + "); events: " + string.Join(" | ", listener.Events)
                    + Environment.NewLine + string.Join(Environment.NewLine, logs.Events.Select(e => "  " + e.Level + " " + e.Message)));
            }

            await Task.Delay(20, ct);
        }

        Assert.StartsWith("assigned ", Assert.Single(listener.Events), StringComparison.Ordinal);
    }

    /// <summary>Records each callback with the member's epoch at that moment; assignments and losses can be held.</summary>
    private sealed class EpochListener : IGroupAssignmentListener
    {
        public ConcurrentQueue<string> Events { get; } = new();

        public Func<int> Epoch { get; set; } = () => -1;

        public TaskCompletionSource? HoldAssigned { get; set; }

        public TaskCompletionSource? HoldLost { get; set; }

        public async ValueTask OnAssignedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken)
        {
            Events.Enqueue("assigned@" + Epoch() + " " + string.Join(",", partitions));
            if (HoldAssigned is { } hold)
            {
                await hold.Task.WaitAsync(cancellationToken);
                Events.Enqueue("assigned-done");
            }
        }

        public ValueTask OnRevokedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken)
        {
            Events.Enqueue("revoked@" + Epoch() + " " + string.Join(",", partitions));
            return ValueTask.CompletedTask;
        }

        public async ValueTask OnLostAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken)
        {
            Events.Enqueue("lost@" + Epoch() + " " + string.Join(",", partitions));
            if (HoldLost is { } hold)
            {
                await hold.Task.WaitAsync(cancellationToken);
            }

            Events.Enqueue("lost-done");
        }

        public void OnAssignmentFailed(string problem, Exception? cause) => Events.Enqueue("failed " + problem);

        public void OnAssignorFailed(string assignor, string method, string consequence, Exception cause) => Events.Enqueue("assignor failed " + assignor);
    }

    /// <summary>
    /// One KIP-848 member of a fresh group on a one-broker embedded cluster (topic of 2 partitions), with short
    /// heartbeats and backoffs and its logs recorded; waits fail naming what they waited for and the member's state.
    /// </summary>
    private sealed class Kip848Run : IAsyncDisposable
    {
        private readonly ClusterClient _client;
        private readonly GroupCoordinator _coordinator;
        private readonly EpochListener _listener;

        private Kip848Run(EmbeddedKafkaCluster cluster, ClusterClient client, GroupCoordinator coordinator, ConsumerGroupMember member, EpochListener listener, RecordingLoggerFactory logs)
        {
            Cluster = cluster;
            _client = client;
            _coordinator = coordinator;
            Member = member;
            _listener = listener;
            Logs = logs;
        }

        public EmbeddedKafkaCluster Cluster { get; }

        public ConsumerGroupMember Member { get; }

        public RecordingLoggerFactory Logs { get; }

        /// <summary>Starts the member with <paramref name="listener"/> (its epoch wired to the member's).</summary>
        public static Kip848Run Start(string clientId, EpochListener listener, TimeSpan? maxPollInterval = null)
        {
            var cluster = EmbeddedKafkaCluster.Start(1);
            var topic = "kip848-" + Guid.NewGuid().ToString("N")[..8];
            cluster.CreateTopic(topic, 2, 1);
            var client = new ClusterClient(new KafkaClientOptions
            {
                BootstrapServers = cluster.BootstrapServers,
                ClientId = clientId,
                ReconnectBackoff = TimeSpan.FromMilliseconds(50),
                ReconnectBackoffMax = TimeSpan.FromMilliseconds(200),
            });
            var logs = new RecordingLoggerFactory();
            var settings = new GroupMemberSettings("group-" + Guid.NewGuid().ToString("N")[..8])
            {
                LoggerFactory = logs,
                SessionTimeout = TimeSpan.FromSeconds(6),
                HeartbeatInterval = TimeSpan.FromMilliseconds(300),
                RetryBackoff = TimeSpan.FromMilliseconds(50),
                RetryBackoffMax = TimeSpan.FromMilliseconds(300),
            };
            if (maxPollInterval is { } interval)
            {
                settings = settings with { MaxPollInterval = interval };
            }

            var coordinator = new GroupCoordinator(client, settings);
            var member = new ConsumerGroupMember(coordinator, ConsumerGroupSubscription.Topics(topic), listener);
            listener.Epoch = () => member.MemberEpoch;
            member.Start();
            return new Kip848Run(cluster, client, coordinator, member, listener, logs);
        }

        public async Task WaitAsync(Func<bool> condition, string what, CancellationToken cancellationToken)
        {
            var stop = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (!condition())
            {
                Assert.True(DateTime.UtcNow < stop, "Timed out waiting for: " + what + Environment.NewLine + Dump());
                await Task.Delay(20, cancellationToken);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Member.DisposeAsync();
            await _coordinator.DisposeAsync();
            await _client.DisposeAsync();
            await Cluster.DisposeAsync();
        }

        private string Dump() => "epoch " + Member.MemberEpoch + ", owns " + string.Join(",", Member.Assignment) + "; events: " + string.Join(" | ", _listener.Events)
            + Environment.NewLine + string.Join(Environment.NewLine, Logs.Events.Select(e => "  " + e.Level + " " + e.Message));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_member_back_from_the_poll_timeout_rejoins_only_once_the_loss_has_been_reported_and_not_with_its_old_target()
    {
        var ct = TestContext.Current.CancellationToken;
        var listener = new EpochListener { HoldLost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        await using var run = Kip848Run.Start("kip848-poll", listener, TimeSpan.FromSeconds(1));
        var (cluster, member, logs) = (run.Cluster, run.Member, run.Logs);
        Task WaitAsync(Func<bool> condition, string what) => run.WaitAsync(condition, what, ct);

        await WaitAsync(() => member.MemberEpoch > 0 && member.Assignment.Count == 2, "joined with both partitions");

        // The application polls once, then stops: the member leaves on the poll timeout and reports its partitions
        // lost, slowly. The application polls again while the report is still running.
        member.NotifyPolled();
        await WaitAsync(() => listener.Events.Any(e => e.StartsWith("lost@", StringComparison.Ordinal)), "the loss being reported");
        await WaitAsync(() => member.MemberEpoch == 0 && logs.Events.Any(e => e.Message.Contains("max poll interval", StringComparison.Ordinal)), "left on the poll timeout");
        member.NotifyPolled();
        await WaitAsync(() => member.MemberEpoch > 0 || logs.Events.Any(e => e.Message.Contains("once the partitions-lost callback has returned", StringComparison.Ordinal)),
            "the member rejoined, or is waiting for the loss report to rejoin");
        var epochWhileReporting = member.MemberEpoch;

        // The loss report ends: only now does the member rejoin, and the target it had before leaving is void.
        listener.HoldLost.SetResult();
        await WaitAsync(() => listener.Events.Contains("lost-done"), "the loss reported");
        await WaitAsync(() => member.MemberEpoch > 0 && member.Assignment.Count == 2 && listener.Events.Last().StartsWith("assigned@", StringComparison.Ordinal), "back in the group with its partitions");

        Assert.Equal(0, epochWhileReporting);
        var afterLoss = listener.Events.SkipWhile(e => e != "lost-done").ToArray();
        Assert.DoesNotContain(afterLoss, e => e.StartsWith("assigned@0 ", StringComparison.Ordinal));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_fenced_member_rejoins_only_once_the_loss_has_been_reported()
    {
        var ct = TestContext.Current.CancellationToken;
        var listener = new EpochListener();
        await using var run = Kip848Run.Start("kip848-fenced", listener);
        var (cluster, member, logs) = (run.Cluster, run.Member, run.Logs);
        Task WaitAsync(Func<bool> condition, string what) => run.WaitAsync(condition, what, ct);

        await WaitAsync(() => member.MemberEpoch > 0 && member.Assignment.Count == 2, "joined with both partitions");

        // The coordinator fences the member; the application's partitions-lost callback takes a while (it cleans up
        // what it kept for those partitions). The member rejoins only once that callback has returned, as the Java
        // client does: rejoining at once, it could be handed the same partitions while the application still tears
        // them down.
        var holdLost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        listener.HoldLost = holdLost;
        cluster.PushRequestErrors(ApiKey.ConsumerGroupHeartbeat, ErrorCode.FencedMemberEpoch);
        await WaitAsync(() => listener.Events.Any(e => e.StartsWith("lost@", StringComparison.Ordinal)), "the loss being reported");
        await WaitAsync(() => member.MemberEpoch > 0 || logs.Events.Any(e => e.Message.Contains("once the partitions-lost callback has returned", StringComparison.Ordinal)),
            "the member rejoined, or is waiting for the loss report to rejoin");
        var epochWhileReporting = member.MemberEpoch;

        holdLost.SetResult();
        await WaitAsync(() => member.MemberEpoch > 0 && member.Assignment.Count == 2 && listener.Events.Last().StartsWith("assigned@", StringComparison.Ordinal), "back in the group with its partitions");
        Assert.Equal(0, epochWhileReporting);
        Assert.Equal(1, member.Fencings);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_fatal_heartbeat_error_during_a_callback_reports_the_loss_after_that_callback_not_alongside_it()
    {
        var ct = TestContext.Current.CancellationToken;
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var listener = new EpochListener { HoldAssigned = hold };
        await using var run = Kip848Run.Start("kip848-fatal", listener);
        var (cluster, member) = (run.Cluster, run.Member);
        Task WaitAsync(Func<bool> condition, string what) => run.WaitAsync(condition, what, ct);

        // The assignment callback is still running (the application starting its partitions) when a heartbeat is
        // refused for good: the callbacks are the application's, one at a time, so the loss is reported once the
        // assignment callback has returned.
        await WaitAsync(() => listener.Events.Any(e => e.StartsWith("assigned@", StringComparison.Ordinal)), "the assignment callback running");
        cluster.PushRequestErrors(ApiKey.ConsumerGroupHeartbeat, ErrorCode.GroupAuthorizationFailed);
        await WaitAsync(() => member.Failure is not null, "the member failed on GROUP_AUTHORIZATION_FAILED");
        hold.SetResult();

        var failure = Assert.IsType<KafkaGroupException>(await member.Failed.WaitAsync(TimeSpan.FromSeconds(20), ct));
        Assert.Equal(ErrorCode.GroupAuthorizationFailed, failure.Code);
        Assert.Equal(["assigned-done", "lost-done"], listener.Events.Where(e => e.EndsWith("-done", StringComparison.Ordinal)).ToArray());
        Assert.Empty(member.Assignment);
    }
}
