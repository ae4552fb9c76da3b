using Messaging.Cluster;
using Messaging.Groups;
using Messaging.Testing;

namespace Messaging.IntegrationTests.Groups;

/// <summary>
/// Classic members carrying the consumer protocol (ConsumerProtocol bytes, the assignors on the leader) on the
/// embedded 3-broker cluster: the group's partitions are split disjointly and completely, and a leave moves them.
/// </summary>
public sealed class ClassicConsumerGroupTests
{
    private const string Topic = "orders";
    private const int Partitions = 12;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(45);

    [Theory(Timeout = 120_000)]
    [InlineData("range")]
    [InlineData("cooperative-sticky")]
    public async Task Three_consumers_split_every_partition_and_two_take_them_all_when_one_leaves(string assignor)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(3);
        cluster.SetGroupInitialRebalanceDelay(TimeSpan.FromMilliseconds(200));
        cluster.CreateTopic(Topic, Partitions, replicationFactor: 3);
        var group = "consumers-" + Guid.NewGuid().ToString("N")[..8];

        await using var a = Consumer.Start(cluster.BootstrapServers, group, assignor);
        await using var b = Consumer.Start(cluster.BootstrapServers, group, assignor);
        var c = Consumer.Start(cluster.BootstrapServers, group, assignor);
        await Until.TrueAsync(() => SplitsAll(a, b, c), Deadline, "three consumers owning all 12 partitions, each once", ct);
        Assert.All(new[] { a, b, c }, m => Assert.InRange(m.Protocol.Owned.Count, 4, 4));

        await c.DisposeAsync(); // leaves the group: its partitions go to the other two
        await Until.TrueAsync(() => SplitsAll(a, b), Deadline, "two consumers owning all 12 partitions after the third left", ct);
        Assert.All(new[] { a, b }, m => Assert.InRange(m.Protocol.Owned.Count, 6, 6));
    }

    private static bool SplitsAll(params Consumer[] consumers)
    {
        var seen = new HashSet<TopicPartition>();
        foreach (var consumer in consumers)
        {
            if (consumer.Member.State != ClassicMemberState.Stable)
            {
                return false;
            }

            foreach (var partition in consumer.Protocol.Owned)
            {
                if (!seen.Add(partition))
                {
                    return false;
                }
            }
        }

        return seen.Count == Partitions;
    }

    /// <summary>One consumer-protocol member and what it stands on, disposed together (leaving the group).</summary>
    private sealed class Consumer : IAsyncDisposable, IGroupAssignmentListener
    {
        private readonly ClusterClient _cluster;
        private readonly GroupCoordinator _coordinator;

        private Consumer(string bootstrap, string group, string assignor)
        {
            _cluster = new ClusterClient(new KafkaClientOptions { BootstrapServers = bootstrap, ReconnectBackoffMax = TimeSpan.FromMilliseconds(400) });
            _coordinator = new GroupCoordinator(_cluster, new GroupMemberSettings(group)
            {
                SessionTimeout = TimeSpan.FromSeconds(6),
                HeartbeatInterval = TimeSpan.FromMilliseconds(300),
                RebalanceTimeout = TimeSpan.FromSeconds(10),
            });
            IConsumerPartitionAssignor chosen = assignor == "range" ? new RangeAssignor() : new CooperativeStickyAssignor();
            Protocol = new ClassicConsumerProtocol([chosen], static () => [Topic], PartitionCountsAsync, this);
            Member = new ClassicGroupMember(_coordinator, Protocol);
        }

        public ClassicConsumerProtocol Protocol { get; }

        public ClassicGroupMember Member { get; }

        public static Consumer Start(string bootstrap, string group, string assignor)
        {
            var consumer = new Consumer(bootstrap, group, assignor);
            consumer.Member.Start();
            return consumer;
        }

        public ValueTask OnAssignedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask OnRevokedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask OnLostAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public void OnAssignmentFailed(string problem, Exception? cause)
        {
        }

        public void OnAssignorFailed(string assignor, string method, string consequence, Exception cause)
        {
        }

        public async ValueTask DisposeAsync()
        {
            await Member.DisposeAsync();
            await _coordinator.DisposeAsync();
            await _cluster.DisposeAsync();
        }

        private async ValueTask<IReadOnlyDictionary<string, int>> PartitionCountsAsync(IReadOnlyCollection<string> topics, CancellationToken cancellationToken)
        {
            var metadata = await _cluster.Metadata.EnsureTopicsAsync(topics, cancellationToken);
            var counts = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var topic in topics)
            {
                if (metadata.Topics.TryGetValue(topic, out var info))
                {
                    counts[topic] = info.Partitions.Count;
                }
            }

            return counts;
        }
    }
}
