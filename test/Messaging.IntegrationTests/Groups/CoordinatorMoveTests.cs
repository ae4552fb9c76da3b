using System.Diagnostics;
using Messaging.IntegrationTests.Consumer;
using Messaging.IntegrationTests.Support;
using Messaging.Testing;

namespace Messaging.IntegrationTests.Groups;

/// <summary>The group's coordinator moves mid-run (fault injection): the members follow it and commits go on.</summary>
public sealed class CoordinatorMoveTests
{
    private const string Topic = "events";
    private const int Partitions = 12;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(45);

    public static TheoryData<GroupProtocol, string, bool> Cases => new()
    {
        { GroupProtocol.Classic, "range", false },
        { GroupProtocol.Classic, "range", true },
        { GroupProtocol.Consumer, "", true }, // the embedded broker keeps answering a KIP-848 member (heartbeats, commits) at the old coordinator: only its going down moves it
    };

    /// <param name="brokerDown">The old coordinator's broker also goes down (its partitions' leaders moved away first).</param>
    [Theory(Timeout = 120_000)]
    [MemberData(nameof(Cases))]
    public async Task After_the_coordinator_moves_the_group_recovers_and_explicit_and_automatic_commits_go_on(GroupProtocol protocol, string assignor, bool brokerDown)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = SubscribeTests.StartCluster();
        var group = SubscribeTests.NewGroup();
        if (brokerDown)
        {
            for (var p = 0; p < Partitions; p++)
            {
                cluster.SetPartitionLeader(Topic, p, 2 + (p % 2));
            }
        }

        cluster.SetGroupCoordinator(group, 1);
        var logA = new CollectingLogger();
        var logB = new CollectingLogger();
        await using var monitor = new CommitMonitor(cluster.BootstrapServers, group, Topic, Partitions);
        await using var a = new GroupReader("a", SubscribeTests.GroupOptions(cluster.BootstrapServers, group, protocol, assignor, o => o.LoggerFactory = logA), [Topic]);
        await using var b = new GroupReader("b", SubscribeTests.GroupOptions(cluster.BootstrapServers, group, protocol, assignor, o => o.LoggerFactory = logB), [Topic]);
        try
        {
            await MoveAndCommitAsync(cluster, group, monitor, a, b, brokerDown, ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The cause first: CI prints the first lines of a failure's message.
            throw new Xunit.Sdk.XunitException(ex.GetType().Name + ": " + ex.Message + Environment.NewLine + "member a's log:" + Environment.NewLine + logA + Environment.NewLine + "member b's log:" + Environment.NewLine + logB, ex);
        }
    }

    private static async Task MoveAndCommitAsync(EmbeddedKafkaCluster cluster, string group, CommitMonitor monitor, GroupReader a, GroupReader b, bool brokerDown, CancellationToken ct)
    {
        await Eventually.TrueAsync(() => SubscribeTests.Splits(a, b), Deadline, "a and b splitting the partitions", ct);
        await ConsumerTestSupport.ProduceAsync(cluster.BootstrapServers, Topic, Partitions, 1200, 20, cancellationToken: ct);
        await Eventually.TrueAsync(() => monitor.LatestSum == 1200, Deadline, "the first 1,200 records read and auto-committed", ct);
        Assert.Equal(1, a.Consumer.Consumer.Group!.Coordinator.CoordinatorId);

        cluster.SetGroupCoordinator(group, 2);
        if (brokerDown)
        {
            cluster.SetBrokerDown(1);
        }

        await ConsumerTestSupport.ProduceAsync(cluster.BootstrapServers, Topic, Partitions, 1200, 20, cancellationToken: ct);
        await Eventually.TrueAsync(() => SubscribeTests.Distinct(a, b) == 2400, Deadline, "every record of 2,400 read after the move", ct);

        // An explicit commit after the move reaches the new coordinator (retried through NOT_COORDINATOR).
        var partition = await CommitExplicitlyAsync(a, ct);
        var explicitly = await a.Consumer.CommittedAsync([partition], ct);
        Assert.Equal(200, explicitly[0].Offset);
        Assert.Equal("explicit", explicitly[0].Metadata);

        // The embedded broker takes a classic member's commits at the old coordinator too; its heartbeats are what
        // answer NOT_COORDINATOR there, so the member follows the move at its next heartbeat (300 ms).
        await Eventually.TrueAsync(() => a.Consumer.Consumer.Group!.Coordinator.CoordinatorId == 2, Deadline, "a following the coordinator to broker 2", ct);

        // Automatic commits resume at the new coordinator: the group's committed offsets reach the end again.
        await ConsumerTestSupport.ProduceAsync(cluster.BootstrapServers, Topic, Partitions, 1200, 20, cancellationToken: ct);
        await Eventually.TrueAsync(() => SubscribeTests.Distinct(a, b) == 3600 && monitor.LatestSum == 3600, Deadline, "3,600 read and auto-committed after the move: " + monitor.LatestSum, ct);
        // The group is whole: at once, or after a rebalance the embedded broker's session timer started (on its own
        // clock, a member it heard from late under load) — an eager rebalance revokes every partition for a moment.
        await Eventually.TrueAsync(() => SubscribeTests.Splits(a, b), Deadline, "a and b splitting the partitions at the end", ct);
        Assert.Null(a.Failure);
        Assert.Null(b.Failure);
    }

    /// <summary>
    /// Commits offset 200 of a partition <paramref name="member"/> owns. The embedded broker times members out on its
    /// own clock, so a rebalance may overlap the move: a commit made while the member is between generations fails as
    /// REBALANCE_IN_PROGRESS without being sent, and one the coordinator refuses because the member's generation ended
    /// meanwhile (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID: Java's CommitFailedException) fails too. In each case the
    /// application commits again, once the member is back in a generation, for a partition it then owns.
    /// </summary>
    private static async Task<TopicPartition> CommitExplicitlyAsync(GroupReader member, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        while (true)
        {
            await Eventually.TrueAsync(() => member.Consumer.Consumer.Group!.ClassicMember?.StableGeneration is not null || member.Consumer.Consumer.Group!.ClassicMember is null, Deadline, member.Name + " in a stable generation", ct);
            await Eventually.TrueAsync(() => member.Consumer.Assignment.Count > 0, Deadline, member.Name + " owning a partition", ct);
            var partition = new TopicPartition(Topic, member.Consumer.Assignment[0].Partition);
            try
            {
                await member.Consumer.CommitAsync([new TopicPartitionCommit(partition, 200, "explicit")], ct).AsTask().WaitAsync(Deadline, ct);
                return partition;
            }
            catch (KafkaCommitException ex) when (ex.Code is ErrorCode.RebalanceInProgress or ErrorCode.IllegalGeneration or ErrorCode.UnknownMemberId
                && Stopwatch.GetElapsedTime(start) < Deadline)
            {
                TestContext.Current.TestOutputHelper?.WriteLine(member.Name + " committed while its generation ended or changed; committing again in the next: " + ex.Message);
            }
        }
    }
}
