using Messaging.Cluster;
using Messaging.Groups;
using Messaging.IntegrationTests.Support;
using Messaging.Transport;

namespace Messaging.IntegrationTests.Groups;

/// <summary>A group member outlives whatever a connection attempt to its coordinator throws.</summary>
public sealed class CoordinatorConnectFailureTests
{
    [Fact(Timeout = 60_000)]
    public async Task A_coordinator_connection_attempt_that_throws_an_unexpected_exception_is_retried_and_the_member_joins()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = FakeGroupBroker.Start();
        var factory = new ThrowsOnceForNodeOne();
        await using var cluster = new ClusterClient(new KafkaClientOptions
        {
            BootstrapServers = broker.BootstrapServers,
            ClientId = "connect-failure",
            TransportFactory = factory,
            ReconnectBackoff = TimeSpan.FromMilliseconds(20),
            ReconnectBackoffMax = TimeSpan.FromMilliseconds(200),
        });
        var logs = new RecordingLoggerFactory();
        await using var coordinator = new GroupCoordinator(cluster, new GroupMemberSettings("group-" + Guid.NewGuid().ToString("N")[..8])
        {
            LoggerFactory = logs,
            SessionTimeout = TimeSpan.FromSeconds(4),
            HeartbeatInterval = TimeSpan.FromMilliseconds(300),
            RebalanceTimeout = TimeSpan.FromSeconds(10),
            RetryBackoff = TimeSpan.FromMilliseconds(20),
            RetryBackoffMax = TimeSpan.FromMilliseconds(200),
        });
        var protocol = new RecordingGroupProtocol("a");
        await using var member = new ClassicGroupMember(coordinator, protocol);
        member.Start();

        var stop = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (member.StableGeneration is null)
        {
            Assert.True(DateTime.UtcNow < stop, "The member never joined (thrown " + Volatile.Read(ref factory.Thrown) + ", lookups " + coordinator.Lookups + "): "
                + string.Join(Environment.NewLine, logs.Events.Select(e => "  " + e.Level + " " + e.Message)));
            await Task.Delay(20, ct);
        }

        Assert.Equal(1, Volatile.Read(ref factory.Thrown));
        Assert.Null(member.Failure);
    }

    /// <summary>Opens sockets, except that the first connection to node 1 (the coordinator) fails with an exception no socket throws.</summary>
    private sealed class ThrowsOnceForNodeOne : IKafkaTransportFactory
    {
        public int Thrown;

        public ValueTask<IKafkaTransport> ConnectAsync(KafkaTransportContext context, CancellationToken cancellationToken) =>
            context.NodeId == 1 && Interlocked.CompareExchange(ref Thrown, 1, 0) == 0
                ? ValueTask.FromException<IKafkaTransport>(new InvalidOperationException("the transport plug-in failed"))
                : SocketTransportFactory.Instance.ConnectAsync(context, cancellationToken);
    }
}
