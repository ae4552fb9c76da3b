using Messaging.IntegrationTests.Consumer;
using Messaging.IntegrationTests.Support;
using Messaging.Testing;

namespace Messaging.IntegrationTests.Groups;

/// <summary>
/// <see cref="KafkaConsumer.Subscribe(IEnumerable{string}, IConsumerRebalanceListener?)"/> on the embedded 3-broker
/// cluster: members split a topic and read every record, commits carry over to the next member, leaving members'
/// partitions move to the others, and assigning and subscribing do not mix.
/// </summary>
public sealed class SubscribeTests
{
    private const string Topic = "events";
    private const int Partitions = 12;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    public static TheoryData<GroupProtocol, string> Protocols => new()
    {
        { GroupProtocol.Classic, "range" },
        { GroupProtocol.Classic, "roundrobin" },
        { GroupProtocol.Classic, "cooperative-sticky" },
        { GroupProtocol.Consumer, "" },
    };

    internal static KafkaConsumerOptions GroupOptions(string bootstrap, string group, GroupProtocol protocol = GroupProtocol.Classic, string assignor = "range", Action<KafkaConsumerOptions>? configure = null) =>
        ConsumerTestSupport.Options(bootstrap, o =>
        {
            o.GroupId = group;
            o.GroupProtocol = protocol;
            if (assignor.Length > 0)
            {
                o.PartitionAssignmentStrategy = assignor;
            }

            o.AutoOffsetReset = AutoOffsetReset.Earliest;
            o.SessionTimeout = TimeSpan.FromSeconds(6);
            o.HeartbeatInterval = TimeSpan.FromMilliseconds(300);
            o.RebalanceTimeout = TimeSpan.FromSeconds(10);
            o.AutoCommitInterval = TimeSpan.FromMilliseconds(200);
            configure?.Invoke(o);
        });

    internal static EmbeddedKafkaCluster StartCluster()
    {
        var cluster = EmbeddedKafkaCluster.Start(3);
        cluster.SetGroupInitialRebalanceDelay(TimeSpan.FromMilliseconds(200));
        cluster.CreateTopic(Topic, Partitions, replicationFactor: 3);
        return cluster;
    }

    internal static string NewGroup() => "group-" + Guid.NewGuid().ToString("N")[..8];

    [Theory(Timeout = 180_000)]
    [MemberData(nameof(Protocols))]
    public async Task Three_members_split_the_topic_read_every_record_and_the_rest_take_over_when_one_leaves(GroupProtocol protocol, string assignor)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster();
        var group = NewGroup();
        await using var a = new GroupReader("a", GroupOptions(cluster.BootstrapServers, group, protocol, assignor), [Topic]);
        await using var b = new GroupReader("b", GroupOptions(cluster.BootstrapServers, group, protocol, assignor), [Topic]);
        var c = new GroupReader("c", GroupOptions(cluster.BootstrapServers, group, protocol, assignor), [Topic]);
        await Eventually.TrueAsync(() => Splits(a, b, c), Deadline, "three members owning all 12 partitions once each", ct);

        await ConsumerTestSupport.ProduceAsync(cluster.BootstrapServers, Topic, Partitions, 1200, 50, cancellationToken: ct);
        await Eventually.TrueAsync(() => Distinct(a, b, c) == 1200, Deadline, "every record of the first 1,200 read", ct);
        Assert.All(new[] { a, b, c }, r => Assert.NotEmpty(r.Seen));

        await c.DisposeAsync(); // commits and leaves: its partitions go to the other two
        await Eventually.TrueAsync(() => Splits(a, b), Deadline, "two members owning all 12 partitions after the third left", ct);
        await ConsumerTestSupport.ProduceAsync(cluster.BootstrapServers, Topic, Partitions, 1200, 50, cancellationToken: ct);
        await Eventually.TrueAsync(() => Distinct(a, b, c) == 2400, Deadline, "every record of 2,400 read after the leave", ct);
        Assert.All(new[] { a, b, c }, r => Assert.Null(r.Failure));
        Assert.All(new[] { a, b, c }, r => Assert.Equal(0, r.DeliveredAfterRevocation));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_new_member_starts_where_the_last_one_committed()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster();
        var group = NewGroup();
        await ConsumerTestSupport.ProduceAsync(cluster.BootstrapServers, Topic, Partitions, 600, 20, cancellationToken: ct);
        var first = new GroupReader("first", GroupOptions(cluster.BootstrapServers, group, configure: o => o.EnableAutoCommit = false), [Topic]);
        await Eventually.TrueAsync(() => first.Seen.Count >= 600, Deadline, "the first member reading all 600 records", ct);
        await first.StopReadingAsync();
        await first.Consumer.CommitAsync(ct);
        var committed = await first.Consumer.CommittedAsync([.. Enumerable.Range(0, Partitions).Select(p => new TopicPartition(Topic, p))], ct);
        Assert.Equal(600, committed.Sum(c => c.Offset));
        await first.DisposeAsync();

        await ConsumerTestSupport.ProduceAsync(cluster.BootstrapServers, Topic, Partitions, 120, 20, cancellationToken: ct);
        await using var second = new GroupReader("second", GroupOptions(cluster.BootstrapServers, group), [Topic]);
        await Eventually.TrueAsync(() => second.Seen.Count >= 120, Deadline, "the second member reading the 120 new records", ct);
        Assert.All(second.Seen, s => Assert.True(s.Offset >= 50, "offset " + s.Offset + " of " + s.Partition + " was before the committed 50"));
        Assert.Equal(120, second.Seen.Count);
    }

    [Theory(Timeout = 120_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Closing_or_unsubscribing_commits_what_was_consumed(bool unsubscribe)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster();
        var group = NewGroup();
        await ConsumerTestSupport.ProduceAsync(cluster.BootstrapServers, Topic, Partitions, 240, 10, cancellationToken: ct);

        // No automatic commit would come within the test: only the close (or unsubscribe) can commit.
        var reader = new GroupReader("only", GroupOptions(cluster.BootstrapServers, group, configure: o => o.AutoCommitInterval = TimeSpan.FromHours(1)), [Topic]);
        await Eventually.TrueAsync(() => reader.Seen.Count >= 240, Deadline, "the member reading all 240 records", ct);
        await reader.StopReadingAsync();
        if (unsubscribe)
        {
            await reader.Consumer.UnsubscribeAsync(ct);
        }

        await reader.DisposeAsync();

        await using var check = ConsumerTestSupport.Bytes(GroupOptions(cluster.BootstrapServers, group));
        var committed = await check.CommittedAsync([.. Enumerable.Range(0, Partitions).Select(p => new TopicPartition(Topic, p))], ct);
        Assert.Equal(240, committed.Sum(c => c.Offset));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_commit_while_the_member_is_joining_fails_as_rebalancing_and_stores_nothing()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster();
        cluster.SetGroupInitialRebalanceDelay(TimeSpan.FromSeconds(3)); // the coordinator holds the first join this long
        var group = NewGroup();
        var partition = new TopicPartition(Topic, 0);

        // No automatic commit: it would commit the member's position (0, the partition is empty) over the explicit one.
        await using var consumer = ConsumerTestSupport.Bytes(GroupOptions(cluster.BootstrapServers, group, configure: o => o.EnableAutoCommit = false));
        consumer.Subscribe([Topic]);

        // No generation yet: a commit sent without one would be a standalone commit for partitions the member does not own.
        var error = await Assert.ThrowsAsync<KafkaCommitException>(async () => await consumer.CommitAsync([new TopicPartitionCommit(partition, 5, null)], ct));
        Assert.Equal(ErrorCode.RebalanceInProgress, error.Code);
        Assert.True(error.IsRetriable, "commit again after the rebalance");
        Assert.Contains(group, error.Message, StringComparison.Ordinal);
        Assert.Equal(-1, (await consumer.CommittedAsync([partition], ct))[0].Offset);

        await Eventually.TrueAsync(() => consumer.Assignment.Count == Partitions, Deadline, "the member owning every partition", ct);
        await consumer.CommitAsync([new TopicPartitionCommit(partition, 5, null)], ct);
        Assert.Equal(5, (await consumer.CommittedAsync([partition], ct))[0].Offset);
    }

    [Theory(Timeout = 60_000)]
    [InlineData("close")]
    [InlineData("assign another")]
    [InlineData("unassign")]
    public async Task Closing_a_consumer_that_assigned_its_partitions_commits_what_was_consumed_even_of_partitions_it_dropped(string before)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster();
        var group = NewGroup();
        var partition = new TopicPartition(Topic, 0);
        await ConsumerTestSupport.ProduceAsync(cluster.BootstrapServers, Topic, Partitions, 24, 10, cancellationToken: ct); // two records a partition

        // No automatic commit comes within the test: only the one at disposal can commit.
        var consumer = ConsumerTestSupport.Bytes(GroupOptions(cluster.BootstrapServers, group, configure: o => o.AutoCommitInterval = TimeSpan.FromHours(1)));
        consumer.Assign([new TopicPartitionOffset(partition, OffsetSpec.Earliest)]);
        Assert.Equal(2, (await ConsumerTestSupport.ReadAsync(consumer, 2, Deadline, ct)).Count);
        if (before == "assign another")
        {
            consumer.Assign([new TopicPartitionOffset(Topic, 1, OffsetSpec.Earliest)]);
        }
        else if (before == "unassign")
        {
            consumer.Unassign();
        }

        await consumer.DisposeAsync();

        await using var check = ConsumerTestSupport.Bytes(GroupOptions(cluster.BootstrapServers, group));
        Assert.Equal(2, (await check.CommittedAsync([partition], ct))[0].Offset);
    }

    [Fact(Timeout = 120_000)]
    public async Task An_offset_stored_for_a_partition_assigned_by_hand_is_not_committed_for_the_group_once_the_consumer_subscribes()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster();
        var group = NewGroup();
        var partition = new TopicPartition(Topic, 0);
        await ConsumerTestSupport.ProduceAsync(cluster.BootstrapServers, Topic, Partitions, 24, 10, cancellationToken: ct); // two records a partition

        // Read by hand, one record: stored for the next commit, which does not come before the consumer subscribes.
        var late = ConsumerTestSupport.Bytes(GroupOptions(cluster.BootstrapServers, group, configure: o =>
        {
            o.GroupInstanceId = "b"; // static members are ordered by instance id: the range assignor gives it partitions 6 to 11
            o.EnableAutoOffsetStore = false;
            o.AutoCommitInterval = TimeSpan.FromHours(1);
        }));
        late.Assign([new TopicPartitionOffset(partition, OffsetSpec.Earliest)]);
        Assert.Single(await ConsumerTestSupport.ReadAsync(late, 1, Deadline, ct));
        late.StoreOffset(partition, 1);
        late.Unassign();

        await using var owner = new GroupReader("owner", GroupOptions(cluster.BootstrapServers, group, configure: o => o.GroupInstanceId = "a"), [Topic]);
        await Eventually.TrueAsync(() => owner.Seen.Count == 24, Deadline, "the first member reading every record", ct);
        await owner.Consumer.CommitAsync(ct);

        late.Subscribe([Topic]);
        await Eventually.TrueAsync(() => late.Assignment.Count == Partitions / 2 && owner.Consumer.Assignment.Count == Partitions / 2, Deadline,
            "the two members splitting the topic", ct);
        Assert.DoesNotContain(partition, late.Assignment);
        await late.DisposeAsync(); // commits what it stored for the group: never the offset of a partition another member owns

        await using var check = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(cluster.BootstrapServers, o => o.GroupId = group));
        Assert.Equal(2, (await check.CommittedAsync([partition], ct))[0].Offset);
    }

    [Fact(Timeout = 60_000)]
    public async Task Assigning_and_subscribing_do_not_mix_and_subscribing_needs_a_group()
    {
        await using var cluster = StartCluster();
        await using (var assigned = ConsumerTestSupport.Bytes(GroupOptions(cluster.BootstrapServers, NewGroup())))
        {
            assigned.Assign([new TopicPartitionOffset(Topic, 0, OffsetSpec.Earliest)]);
            assigned.StoreOffset(new TopicPartition(Topic, 0), 1); // an assigned partition's offset can be stored
            Assert.Throws<ArgumentException>(() => assigned.StoreOffset(new TopicPartition(Topic, 1), 1)); // another's cannot
            var error = Assert.Throws<InvalidOperationException>(() => assigned.Subscribe([Topic]));
            Assert.Contains("Unassign", error.Message, StringComparison.Ordinal);
        }

        await using (var subscribed = ConsumerTestSupport.Bytes(GroupOptions(cluster.BootstrapServers, NewGroup())))
        {
            subscribed.Subscribe([Topic]);
            Assert.Throws<InvalidOperationException>(() => subscribed.Assign([new TopicPartitionOffset(Topic, 0, OffsetSpec.Earliest)]));
            Assert.Equal([Topic], subscribed.Subscription);
            await subscribed.UnsubscribeAsync(TestContext.Current.CancellationToken);
            Assert.Empty(subscribed.Subscription);
            subscribed.Assign([new TopicPartitionOffset(Topic, 0, OffsetSpec.Earliest)]); // allowed again
        }

        await using var noGroup = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(cluster.BootstrapServers));
        var missing = Assert.Throws<InvalidOperationException>(() => noGroup.Subscribe([Topic]));
        Assert.Contains("GroupId", missing.Message, StringComparison.Ordinal);
    }

    [Theory(Timeout = 120_000)]
    [InlineData(GroupProtocol.Classic)]
    [InlineData(GroupProtocol.Consumer)]
    public async Task Waiting_on_an_idle_topic_is_polling_so_the_member_stays_past_the_max_poll_interval(GroupProtocol protocol)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster();
        var maxPoll = TimeSpan.FromSeconds(1.5);
        await using var reader = new GroupReader("idle", GroupOptions(cluster.BootstrapServers, NewGroup(), protocol, protocol == GroupProtocol.Classic ? "range" : "",
            o => o.MaxPollInterval = maxPoll), [Topic]);
        await Eventually.TrueAsync(() => reader.Consumer.Assignment.Count == Partitions, Deadline, "the only member owning every partition", ct);

        // Three max-poll intervals with the reader awaiting records that do not come: it must not leave the group.
        var until = DateTime.UtcNow + maxPoll * 3;
        await Eventually.TrueAsync(() => DateTime.UtcNow >= until || !reader.Events.IsEmpty && reader.Events.Any(e => e.StartsWith("lost", StringComparison.Ordinal)),
            Deadline, "three max poll intervals passing", ct);
        Assert.DoesNotContain(reader.Events, e => e.StartsWith("lost", StringComparison.Ordinal) || e.StartsWith("revoked", StringComparison.Ordinal));

        await ConsumerTestSupport.ProduceAsync(cluster.BootstrapServers, Topic, Partitions, 24, 10, cancellationToken: ct);
        await Eventually.TrueAsync(() => reader.Seen.Count == 24, Deadline, "the records produced after the idle time read", ct);
        Assert.DoesNotContain(reader.Events, e => e.StartsWith("lost", StringComparison.Ordinal));
    }

    [Theory(Timeout = 120_000)]
    [InlineData(GroupProtocol.Classic)]
    [InlineData(GroupProtocol.Consumer)]
    public async Task A_pattern_subscription_picks_up_a_matching_topic_created_later(GroupProtocol protocol)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(3);
        cluster.SetGroupInitialRebalanceDelay(TimeSpan.FromMilliseconds(200));
        cluster.CreateTopic("audit.orders", 3, replicationFactor: 3);
        cluster.CreateTopic("billing", 3, replicationFactor: 3);
        var options = GroupOptions(cluster.BootstrapServers, NewGroup(), protocol, protocol == GroupProtocol.Classic ? "range" : "",
            o => o.MetadataMaxAge = TimeSpan.FromMilliseconds(500));
        await using var consumer = ConsumerTestSupport.Bytes(options);
        consumer.Subscribe(new System.Text.RegularExpressions.Regex("^audit\\..*"));
        await Eventually.TrueAsync(() => consumer.Assignment.Count == 3, Deadline, "the three partitions of audit.orders assigned", ct);
        Assert.All(consumer.Assignment, p => Assert.Equal("audit.orders", p.Topic));

        cluster.CreateTopic("audit.payments", 2, replicationFactor: 3);
        await Eventually.TrueAsync(() => consumer.Assignment.Count == 5, Deadline, "audit.payments picked up by the pattern", ct);
        Assert.Equal(["audit.orders", "audit.payments"], consumer.Subscription.Order(StringComparer.Ordinal));
        Assert.DoesNotContain(consumer.Assignment, p => p.Topic == "billing");
    }

    [Fact(Timeout = 120_000)]
    public async Task A_subscribed_topic_created_after_the_member_joined_is_assigned()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(3);
        cluster.SetGroupInitialRebalanceDelay(TimeSpan.FromMilliseconds(200));
        cluster.CreateTopic("orders", 3, replicationFactor: 3);
        var options = GroupOptions(cluster.BootstrapServers, NewGroup(), configure: o => o.MetadataMaxAge = TimeSpan.FromMilliseconds(500));
        await using var consumer = ConsumerTestSupport.Bytes(options);
        consumer.Subscribe(["orders", "payments"]); // payments does not exist yet
        await Eventually.TrueAsync(() => consumer.Assignment.Count == 3, Deadline, "the three partitions of orders assigned", ct);

        cluster.CreateTopic("payments", 2, replicationFactor: 3);
        await Eventually.TrueAsync(() => consumer.Assignment.Count == 5, Deadline, "the two partitions of payments assigned once it exists", ct);
        Assert.Equal(2, consumer.Assignment.Count(p => p.Topic == "payments"));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_member_failing_for_good_ends_an_idle_consume_with_the_typed_error()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster();
        await using var consumer = ConsumerTestSupport.Bytes(GroupOptions(cluster.BootstrapServers, NewGroup(), configure: o => o.GroupInstanceId = "instance-1"));
        consumer.Subscribe([Topic]);
        var reading = Task.Run(async () =>
        {
            await foreach (var record in consumer.ConsumeAsync(ct))
            {
            }
        }, ct);
        await Eventually.TrueAsync(() => consumer.Assignment.Count == Partitions, Deadline, "the member owning every partition", ct);

        cluster.PushRequestErrors(ApiKey.Heartbeat, ErrorCode.FencedInstanceId); // nothing is produced: the reader waits
        var error = await Assert.ThrowsAsync<KafkaGroupException>(() => reading.WaitAsync(Deadline, ct));
        Assert.Equal(ErrorCode.FencedInstanceId, error.Code);
    }

    [Theory(Timeout = 120_000)]
    [InlineData(GroupProtocol.Classic)]
    [InlineData(GroupProtocol.Consumer)]
    public async Task An_unsubscribe_cancelled_during_the_revocation_leaves_the_consumer_free_to_subscribe_again(GroupProtocol protocol)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster();
        await using var consumer = ConsumerTestSupport.Bytes(GroupOptions(cluster.BootstrapServers, NewGroup(), protocol, protocol == GroupProtocol.Classic ? "range" : ""));
        var listener = new RevocationWaitingForCancellation();
        consumer.Subscribe([Topic], listener);
        await Eventually.TrueAsync(() => consumer.Assignment.Count == Partitions, Deadline, "the member owning every partition", ct);

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var unsubscribing = consumer.UnsubscribeAsync(cancel.Token).AsTask();
        await listener.Revoking.Task.WaitAsync(Deadline, ct);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => unsubscribing);

        // The member that was closing is gone: subscribing again joins with a new one.
        consumer.Subscribe([Topic]);
        await Eventually.TrueAsync(() => consumer.Assignment.Count > 0, Deadline, "partitions assigned after subscribing again", ct);
    }

    /// <summary>A revocation callback that waits until its token is cancelled (a slow revocation the caller gives up on).</summary>
    private sealed class RevocationWaitingForCancellation : IConsumerRebalanceListener
    {
        public TaskCompletionSource Revoking { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ValueTask OnPartitionsAssignedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public async ValueTask OnPartitionsRevokedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken)
        {
            Revoking.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
    }

    internal static bool Splits(params GroupReader[] readers)
    {
        var seen = new HashSet<TopicPartition>();
        foreach (var reader in readers)
        {
            if (reader.Consumer.Assignment.Count == 0)
            {
                return false; // a split gives every member a share (one member owning everything is no split)
            }

            foreach (var partition in reader.Consumer.Assignment)
            {
                if (!seen.Add(partition))
                {
                    return false;
                }
            }
        }

        return seen.Count == Partitions;
    }

    internal static int Distinct(params GroupReader[] readers)
    {
        var seen = new HashSet<(TopicPartition, long)>();
        foreach (var reader in readers)
        {
            foreach (var entry in reader.Seen)
            {
                seen.Add(entry);
            }
        }

        return seen.Count;
    }
}
