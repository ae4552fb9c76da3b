using System.Diagnostics;
using Messaging.Cluster;
using Messaging.Connection;
using Messaging.IntegrationTests.Support;
using Messaging.Testing;
using Messaging.Testing.Brokers;

namespace Messaging.IntegrationTests.Cluster;

/// <summary>Connections, metadata and routing on a 3-broker cluster, with faults.</summary>
public sealed class ClusterLayerTests(TestBrokerFixture fixture)
{
    private static KafkaClientOptions Options(string bootstrap, Action<KafkaClientOptions>? configure = null)
    {
        var options = new KafkaClientOptions { BootstrapServers = bootstrap, ClientId = "cluster-tests", ReconnectBackoff = TimeSpan.FromMilliseconds(50), ReconnectBackoffMax = TimeSpan.FromMilliseconds(400) };
        configure?.Invoke(options);
        return options;
    }

    [Fact(Timeout = 30_000)]
    public async Task Metadata_describes_every_broker_topic_partition_and_leader()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 3, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("described");
        await broker.CreateTopicAsync(topic, 6, 3, ct);
        await using var client = new ClusterClient(Options(broker.BootstrapServers));

        var metadata = await client.Metadata.EnsureTopicsAsync([topic], ct);
        Assert.Equal(broker.BrokerCount, metadata.Brokers.Count);
        if (broker.Faults is EmbeddedKafkaCluster cluster)
        {
            cluster.SetControllerId(2);
            metadata = await client.Metadata.RefreshAsync(ct);
            Assert.Equal(2, metadata.ControllerId);
        }
        var info = metadata.Topics[topic];
        Assert.Equal(ErrorCode.None, info.Error);
        Assert.Equal(6, info.Partitions.Count);
        for (var p = 0; p < 6; p++)
        {
            Assert.Equal(p, info.Partitions[p].Partition);
            Assert.Contains(info.Partitions[p].Leader, metadata.Brokers.Keys);
            Assert.Equal(Math.Min(3, broker.BrokerCount), info.Partitions[p].Replicas.Count);
        }

        Assert.Same(metadata, client.Metadata.Current);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_leader_moved_by_the_cluster_is_followed_after_a_refresh()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 3, faultInjection: true, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("moved");
        await broker.CreateTopicAsync(topic, 2, 3, ct);
        broker.Faults!.SetPartitionLeader(topic, 0, 1);
        await using var client = new ClusterClient(Options(broker.BootstrapServers));
        var before = await client.Metadata.EnsureTopicsAsync([topic], ct);
        Assert.True(before.TryGetLeader(topic, 0, out var leader, out _));
        Assert.Equal(1, leader);

        broker.Faults.SetPartitionLeader(topic, 0, 3);
        var after = await client.Metadata.RefreshAsync(ct);
        Assert.True(after.TryGetLeader(topic, 0, out leader, out _));
        Assert.Equal(3, leader);
    }

    [Fact(Timeout = 30_000)]
    public async Task Concurrent_refresh_requests_coalesce_into_few_metadata_requests()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, faultInjection: true, cancellationToken: ct);
        await using var client = new ClusterClient(Options(broker.BootstrapServers));
        await client.Metadata.RefreshAsync(ct); // connected
        var before = client.Metadata.RequestsSent;

        var refreshes = new Task<ClusterMetadata>[50];
        for (var i = 0; i < refreshes.Length; i++)
        {
            refreshes[i] = client.Metadata.RefreshAsync(ct);
        }

        await Task.WhenAll(refreshes);
        Assert.InRange(client.Metadata.RequestsSent - before, 1, 2); // one refresh serves everyone who asked before it started
    }

    [Fact(Timeout = 60_000)]
    public async Task A_broker_that_is_down_fails_fast_with_a_retriable_error_and_is_used_again_once_it_is_back()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 3, faultInjection: true, cancellationToken: ct);
        await using var client = new ClusterClient(Options(broker.BootstrapServers));
        await client.Metadata.RefreshAsync(ct);
        var connection = await client.Connections.GetAsync(2, ct);
        Assert.True(connection.IsOpen);

        broker.Faults!.SetBrokerDown(2);
        await connection.Closed.WaitAsync(TimeSpan.FromSeconds(10), ct); // the mock drops the connection

        // Down: the first attempt fails to connect; attempts inside the backoff fail without touching the network.
        var first = await Assert.ThrowsAsync<KafkaConnectionException>(async () => await client.Connections.GetAsync(2, ct));
        Assert.True(first.IsRetriable);
        var clock = Stopwatch.StartNew();
        var fast = await Assert.ThrowsAsync<KafkaConnectionException>(async () => await client.Connections.GetAsync(2, ct));
        Assert.True(fast.IsRetriable);
        Assert.True(clock.ElapsedMilliseconds < 250, $"failing fast took {clock.ElapsedMilliseconds} ms");
        Assert.Contains("broker 2", fast.Message, StringComparison.Ordinal);

        broker.Faults.SetBrokerUp(2);
        BrokerConnection? again = null;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (again is null && DateTime.UtcNow < deadline)
        {
            try
            {
                again = await client.Connections.GetAsync(2, ct);
            }
            catch (KafkaConnectionException)
            {
                await Task.Delay(50, ct);
            }
        }

        Assert.NotNull(again);
        var metadata = await again.SendAsync<Protocol.Messages.MetadataRequest, Protocol.Messages.MetadataResponse>(new Protocol.Messages.MetadataRequest { Topics = [] }, ct);
        Assert.Equal(3, metadata.Brokers.Length);
    }

    [Fact(Timeout = 60_000)]
    public async Task One_ApiVersions_per_connection_and_no_metadata_storm_while_a_broker_is_down()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 3, faultInjection: true, cancellationToken: ct);
        var faults = broker.Faults!;
        var topic = TestBrokerFixture.UniqueTopicName("storm");
        await broker.CreateTopicAsync(topic, 3, 3, ct);
        faults.StartRequestTracking();
        await using var client = new ClusterClient(Options(broker.BootstrapServers));
        await client.Metadata.EnsureTopicsAsync([topic], ct);
        for (var id = 1; id <= 3; id++)
        {
            await client.Connections.GetAsync(id, ct);
            await client.Connections.GetAsync(id, ct); // reused, not reconnected
        }

        var handshake = faults.GetTrackedRequests().Count(r => r.ApiKey == ApiKey.ApiVersions);
        // One handshake per connection: (bootstrap + 3 brokers), each v4 refused then v2, so 2 ApiVersions each.
        Assert.Equal(client.Connections.ConnectAttempts * 2, handshake);

        // A 5 s outage with callers asking for a refresh every 10 ms (as producers hitting NOT_LEADER would).
        faults.ClearTrackedRequests();
        faults.SetBrokerDown(1);
        var window = Stopwatch.StartNew();
        while (window.Elapsed < TimeSpan.FromSeconds(5))
        {
            client.Metadata.RequestRefresh();
            await Task.Delay(10, ct);
        }

        faults.SetBrokerUp(1);
        var metadataRequests = faults.GetTrackedRequests().Count(r => r.ApiKey == ApiKey.Metadata);
        // Backoff 100 ms doubling to 1 s while nothing changes: about 8 refreshes in 5 s; 500 requests were asked for.
        Assert.InRange(metadataRequests, 1, 15);
    }

    [Fact(Timeout = 30_000)]
    public async Task Idle_connections_are_closed_and_reopened_on_next_use()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: ct);
        await using var client = new ClusterClient(Options(broker.BootstrapServers, o => o.ConnectionsMaxIdle = TimeSpan.FromMilliseconds(300)));
        await client.Metadata.RefreshAsync(ct);
        var first = await client.Connections.GetAsync(1, ct);
        await first.Closed.WaitAsync(TimeSpan.FromSeconds(5), ct);
        Assert.False(first.IsOpen);

        var second = await client.Connections.GetAsync(1, ct);
        Assert.NotSame(first, second);
        Assert.True(second.IsOpen);
    }

    [Fact(Timeout = 30_000)]
    public async Task Disposing_the_client_closes_its_connections_and_fails_later_calls()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 3, cancellationToken: ct);
        var client = new ClusterClient(Options(broker.BootstrapServers));
        await client.Metadata.RefreshAsync(ct);
        var connections = new[] { await client.Connections.GetAsync(1, ct), await client.Connections.GetAsync(2, ct), await client.Connections.GetAsync(3, ct) };
        await client.DisposeAsync();
        await client.DisposeAsync();
        Assert.All(connections, c => Assert.False(c.IsOpen));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await client.Connections.GetAsync(1, ct));
    }
}
