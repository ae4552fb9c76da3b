using Messaging.Groups;
using Messaging.Groups.Assignors;

namespace Messaging.Core.Tests.Groups;

/// <summary>
/// The consumer's classic protocol between the membership and the assignors: what it sends in JoinGroup, what the
/// leader computes, and which partitions it revokes, assigns and loses under the eager and cooperative rules.
/// </summary>
public sealed class ClassicConsumerProtocolTests
{
    private static readonly Dictionary<string, int> Counts = new(StringComparer.Ordinal) { ["orders"] = 6, ["audit"] = 2 };

    [Fact]
    public void The_rebalance_protocol_is_cooperative_only_when_every_assignor_supports_it()
    {
        Assert.Equal(RebalanceProtocol.Eager, Create([new RangeAssignor(), new CooperativeStickyAssignor()], out _).RebalanceProtocol);
        Assert.Equal(RebalanceProtocol.Cooperative, Create([new CooperativeStickyAssignor()], out _).RebalanceProtocol);
        Assert.Throws<ArgumentException>(() => Create([], out _));
        Assert.Throws<ArgumentException>(() => Create([new RangeAssignor(), new RangeAssignor()], out _));
    }

    [Fact]
    public async Task The_join_carries_one_protocol_per_assignor_with_the_sorted_subscription_owned_partitions_and_generation()
    {
        var protocol = Create([new CooperativeStickyAssignor(), new RangeAssignor()], out _, topics: ["orders", "audit"], rack: "eu-1a");
        await protocol.OnAssignedAsync("cooperative-sticky", 7, Assignment(Tp("orders", 1), Tp("audit", 0)), TestContext.Current.CancellationToken);

        var protocols = protocol.GetProtocols();
        Assert.Equal(["cooperative-sticky", "range"], protocols.Select(p => p.Name));
        var subscription = ConsumerProtocol.DeserializeSubscription(protocols[1].Metadata.Span);
        Assert.Equal(["audit", "orders"], subscription.Topics);
        Assert.Equal([Tp("audit", 0), Tp("orders", 1)], subscription.OwnedPartitions.Order(TopicPartitionComparer.Instance));
        Assert.Equal(7, subscription.GenerationId);
        Assert.Equal("eu-1a", subscription.RackId);
    }

    [Fact]
    public async Task The_leader_assigns_every_subscribed_partition_once_and_an_unlisted_member_gets_an_empty_assignment()
    {
        var ct = TestContext.Current.CancellationToken;
        var members = new List<GroupMemberMetadata>();
        foreach (var (id, topics) in new[] { ("m-1", new[] { "orders", "audit" }), ("m-2", new[] { "orders" }), ("m-3", new[] { "orders" }) })
        {
            var metadata = Create([new RangeAssignor()], out _, topics).GetProtocols()[0].Metadata;
            members.Add(new GroupMemberMetadata(id, id == "m-3" ? "static-3" : null, metadata));
        }

        members.Add(new GroupMemberMetadata("m-empty", null, ReadOnlyMemory<byte>.Empty)); // subscribes to nothing
        var leader = Create([new RangeAssignor()], out _);
        var assignments = await leader.AssignAsync("range", members, skipAssignment: false, ct);

        var all = new List<TopicPartition>();
        foreach (var member in members)
        {
            all.AddRange(ConsumerProtocol.DeserializeAssignment(assignments[member.MemberId].Span).Partitions);
        }

        Assert.Equal(8, all.Count);
        Assert.Equal(8, all.Distinct().Count());
        Assert.Empty(ConsumerProtocol.DeserializeAssignment(assignments["m-empty"].Span).Partitions);
        Assert.All(ConsumerProtocol.DeserializeAssignment(assignments["m-2"].Span).Partitions, p => Assert.Equal("orders", p.Topic));
    }

    [Fact]
    public async Task A_custom_cooperative_assignor_that_moves_an_owned_partition_straight_to_another_member_fails_the_leader_with_a_clear_error()
    {
        var ct = TestContext.Current.CancellationToken;
        GroupMemberMetadata Member(string id, params TopicPartition[] owned) => new(id, null, ConsumerProtocol.SerializeSubscription(
            new ConsumerSubscription(["orders"]) { OwnedPartitions = owned, GenerationId = 3 }));
        IReadOnlyList<GroupMemberMetadata> members = [Member("m-1", Tp("orders", 0), Tp("orders", 1)), Member("m-2")];

        // orders-1 goes from m-1 to m-2 in one rebalance: m-2 could read it while m-1 still does.
        var moving = Create([new FixedAssignor(new() { ["m-1"] = [Tp("orders", 0)], ["m-2"] = [Tp("orders", 1)] })], out var listener);
        Assert.Equal(RebalanceProtocol.Cooperative, moving.RebalanceProtocol);
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => moving.AssignAsync("fixed", members, skipAssignment: false, ct).AsTask());
        Assert.Contains("'fixed'", failure.Message, StringComparison.Ordinal);
        Assert.Contains("(orders/1)", failure.Message, StringComparison.Ordinal);
        Assert.StartsWith("failed: the partition assignor 'fixed'", Assert.Single(listener.Events), StringComparison.Ordinal); // for the application

        // Revoking it first (assigned to nobody this round) is what the cooperative protocol asks for.
        var revoking = Create([new FixedAssignor(new() { ["m-1"] = [Tp("orders", 0)], ["m-2"] = [] })], out listener);
        var assignments = await revoking.AssignAsync("fixed", members, skipAssignment: false, ct);
        Assert.Equal([Tp("orders", 0)], ConsumerProtocol.DeserializeAssignment(assignments["m-1"].Span).Partitions);
        Assert.Empty(listener.Events);
    }

    [Fact]
    public async Task An_assignor_whose_OnAssignment_throws_still_leaves_the_member_its_assignment_and_the_error_for_the_application()
    {
        var ct = TestContext.Current.CancellationToken;
        var protocol = Create([new ThrowingOnAssignmentAssignor()], out var listener);
        Assert.Null(await protocol.OnAssignedAsync("throwing", 1, Assignment(Tp("orders", 0), Tp("orders", 1)), ct));

        // The coordinator gave the member these partitions: it owns and reads them, and the application hears of the error.
        Assert.Equal([Tp("orders", 0), Tp("orders", 1)], protocol.Owned.Order(TopicPartitionComparer.Instance));
        Assert.Equal(2, listener.Events.Count);
        Assert.Equal("assignor failed: throwing.OnAssignment: the assignor's state is broken", listener.Events[0]);
        Assert.Equal("assigned orders-0,orders-1", listener.Events[1]);
    }

    [Fact]
    public async Task A_member_subscription_the_leader_cannot_read_fails_the_assignment_with_an_error_for_the_application()
    {
        var ct = TestContext.Current.CancellationToken;
        var protocol = Create([new RangeAssignor()], out var listener);
        IReadOnlyList<GroupMemberMetadata> members =
        [
            new("m-1", null, ConsumerProtocol.SerializeSubscription(new ConsumerSubscription(["orders"]))),
            new("m-2", null, new byte[] { 0, 1, 0, 0, 0, 9 }), // version 1, then 9 topics in a buffer that ends
        ];

        await Assert.ThrowsAsync<KafkaProtocolException>(() => protocol.AssignAsync("range", members, skipAssignment: false, ct).AsTask());
        Assert.StartsWith("failed: the subscription of member 'm-2' cannot be read", Assert.Single(listener.Events), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Eager_revokes_everything_before_a_rejoin_and_assigns_the_whole_new_share()
    {
        var ct = TestContext.Current.CancellationToken;
        var protocol = Create([new RangeAssignor()], out var listener);
        Assert.Null(await protocol.OnAssignedAsync("range", 1, Assignment(Tp("orders", 0), Tp("orders", 1)), ct));
        await protocol.OnJoinPrepareAsync(1, "m-1", ct);
        Assert.Equal("revoked orders-0,orders-1", listener.Events[^1]);
        Assert.Empty(protocol.Owned);

        Assert.Null(await protocol.OnAssignedAsync("range", 2, Assignment(Tp("orders", 1), Tp("orders", 2)), ct));
        Assert.Equal("assigned orders-1,orders-2", listener.Events[^1]);
    }

    [Fact]
    public async Task Cooperative_keeps_what_stays_revokes_only_what_moves_and_asks_to_rejoin_after_giving_partitions_up()
    {
        var ct = TestContext.Current.CancellationToken;
        var protocol = Create([new CooperativeStickyAssignor()], out var listener);
        await protocol.OnAssignedAsync("cooperative-sticky", 1, Assignment(Tp("orders", 0), Tp("orders", 1)), ct);
        await protocol.OnJoinPrepareAsync(1, "m-1", ct);
        Assert.Equal(["assigned orders-0,orders-1"], listener.Events); // nothing revoked before the rejoin

        Assert.NotNull(await protocol.OnAssignedAsync("cooperative-sticky", 2, Assignment(Tp("orders", 1)), ct));
        Assert.Equal(["assigned orders-0,orders-1", "revoked orders-0", "assigned "], listener.Events);

        Assert.Null(await protocol.OnAssignedAsync("cooperative-sticky", 3, Assignment(Tp("orders", 1), Tp("orders", 2)), ct));
        Assert.Equal("assigned orders-2", listener.Events[^1]);
        Assert.Equal([Tp("orders", 1), Tp("orders", 2)], protocol.Owned.Order(TopicPartitionComparer.Instance));
    }

    [Fact]
    public async Task Cooperative_revokes_before_a_rejoin_the_partitions_of_topics_no_longer_subscribed()
    {
        var ct = TestContext.Current.CancellationToken;
        var topics = new List<string> { "orders", "audit" };
        var protocol = Create([new CooperativeStickyAssignor()], out var listener, topics);
        await protocol.OnAssignedAsync("cooperative-sticky", 1, Assignment(Tp("orders", 0), Tp("audit", 1)), ct);
        topics.Remove("audit");
        await protocol.OnJoinPrepareAsync(1, "m-1", ct);
        Assert.Equal("revoked audit-1", listener.Events[^1]);
        Assert.Equal([Tp("orders", 0)], protocol.Owned);
    }

    [Fact]
    public async Task A_lost_member_reports_its_partitions_lost_and_rejoins_owning_nothing_with_no_generation()
    {
        var ct = TestContext.Current.CancellationToken;
        var protocol = Create([new CooperativeStickyAssignor()], out var listener);
        await protocol.OnAssignedAsync("cooperative-sticky", 4, Assignment(Tp("orders", 3)), ct);
        await protocol.OnLostAsync(ct);
        Assert.Equal("lost orders-3", listener.Events[^1]);
        var subscription = ConsumerProtocol.DeserializeSubscription(protocol.GetProtocols()[0].Metadata.Span);
        Assert.Empty(subscription.OwnedPartitions);
        Assert.Null(subscription.GenerationId);
    }

    [Fact]
    public async Task An_empty_assignment_is_no_partitions_and_leaving_revokes_what_is_owned()
    {
        var ct = TestContext.Current.CancellationToken;
        var protocol = Create([new RangeAssignor()], out var listener);
        Assert.Null(await protocol.OnAssignedAsync("range", 1, ReadOnlyMemory<byte>.Empty, ct));
        Assert.Equal("assigned ", listener.Events[^1]);
        await protocol.OnAssignedAsync("range", 2, Assignment(Tp("orders", 0)), ct);
        await protocol.OnLeavePrepareAsync(2, "m-1", ct);
        Assert.Equal("revoked orders-0", listener.Events[^1]);
        Assert.Empty(protocol.Owned);
    }

    private static ClassicConsumerProtocol Create(IConsumerPartitionAssignor[] assignors, out RecordingListener listener, IReadOnlyCollection<string>? topics = null, string? rack = null)
    {
        listener = new RecordingListener();
        var subscribed = topics ?? ["orders"];
        return new ClassicConsumerProtocol(
            assignors,
            () => subscribed,
            (wanted, _) => ValueTask.FromResult<IReadOnlyDictionary<string, int>>(Counts.Where(c => wanted.Contains(c.Key)).ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal)),
            listener,
            rack);
    }

    private static TopicPartition Tp(string topic, int partition) => new(topic, partition);

    private static ReadOnlyMemory<byte> Assignment(params TopicPartition[] partitions) => ConsumerProtocol.SerializeAssignment(new ConsumerAssignment(partitions));

    private sealed class RecordingListener : IGroupAssignmentListener
    {
        public List<string> Events { get; } = [];

        public ValueTask OnAssignedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken) => Record("assigned", partitions);

        public ValueTask OnRevokedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken) => Record("revoked", partitions);

        public ValueTask OnLostAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken) => Record("lost", partitions);

        public void OnAssignmentFailed(string problem, Exception? cause) => Events.Add("failed: " + problem);

        public void OnAssignorFailed(string assignor, string method, string consequence, Exception cause) => Events.Add("assignor failed: " + assignor + "." + method + ": " + cause.Message);

        private ValueTask Record(string what, IReadOnlyCollection<TopicPartition> partitions)
        {
            Events.Add(what + " " + string.Join(',', partitions.Order(TopicPartitionComparer.Instance).Select(p => p.Topic + "-" + p.Partition)));
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>A custom assignor that supports the cooperative protocol and hands out a fixed assignment.</summary>
    private sealed class FixedAssignor(Dictionary<string, TopicPartition[]> assignment) : IConsumerPartitionAssignor
    {
        public string Name => "fixed";

        public IReadOnlyList<RebalanceProtocol> SupportedProtocols => [RebalanceProtocol.Cooperative, RebalanceProtocol.Eager];

        public ReadOnlyMemory<byte>? GetSubscriptionUserData(IReadOnlyCollection<string> topics) => null;

        public IReadOnlyDictionary<string, ConsumerAssignment> Assign(AssignorClusterView cluster, IReadOnlyDictionary<string, ConsumerSubscription> subscriptions) =>
            assignment.ToDictionary(a => a.Key, a => new ConsumerAssignment(a.Value), StringComparer.Ordinal);

        public void OnAssignment(ConsumerAssignment assignment, int generationId)
        {
        }
    }

    /// <summary>An eager assignor whose OnAssignment throws (a custom assignor's bug).</summary>
    private sealed class ThrowingOnAssignmentAssignor : IConsumerPartitionAssignor
    {
        public string Name => "throwing";

        public IReadOnlyList<RebalanceProtocol> SupportedProtocols => [RebalanceProtocol.Eager];

        public ReadOnlyMemory<byte>? GetSubscriptionUserData(IReadOnlyCollection<string> topics) => null;

        public IReadOnlyDictionary<string, ConsumerAssignment> Assign(AssignorClusterView cluster, IReadOnlyDictionary<string, ConsumerSubscription> subscriptions) =>
            throw new NotSupportedException();

        public void OnAssignment(ConsumerAssignment assignment, int generationId) => throw new InvalidOperationException("the assignor's state is broken");
    }

    private sealed class TopicPartitionComparer : IComparer<TopicPartition>
    {
        public static readonly TopicPartitionComparer Instance = new();

        public int Compare(TopicPartition x, TopicPartition y)
        {
            var byTopic = string.CompareOrdinal(x.Topic, y.Topic);
            return byTopic != 0 ? byTopic : x.Partition.CompareTo(y.Partition);
        }
    }
}
