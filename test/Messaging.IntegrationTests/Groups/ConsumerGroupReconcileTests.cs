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
    }

    [Fact(Timeout = 60_000)]
    public async Task A_failed_metadata_refresh_while_resolving_the_target_is_retried_not_the_end_of_reconciliation()
    {
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
            RetryBackoff = TimeSpan.FromMilliseconds(50),
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
}
