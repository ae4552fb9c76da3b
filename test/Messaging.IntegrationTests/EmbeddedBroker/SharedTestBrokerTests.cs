using Messaging.Testing.Brokers;

namespace Messaging.IntegrationTests.EmbeddedBroker;

/// <summary>
/// The shared (container, external) broker manages topics with our own admin client. The embedded cluster stands in
/// for a real one here: it answers Metadata and DescribeCluster, and lets a partition lose its leader on demand.
/// </summary>
public sealed class SharedTestBrokerTests(TestBrokerFixture fixture)
{
    [Fact(Timeout = 60_000)]
    public async Task An_external_cluster_is_sized_and_its_topics_managed_through_our_admin_client()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var embedded = await fixture.AcquireAsync(brokers: 3, faultInjection: true, cancellationToken: ct);
        await using var external = TestBrokerFixture.For("external", embedded.BootstrapServers);

        await using var broker = await external.AcquireAsync(cancellationToken: ct);
        Assert.Equal(TestBrokerKind.External, broker.Kind);
        Assert.Equal(3, broker.BrokerCount); // counted by DescribeCluster
        Assert.Null(broker.Faults);

        // The embedded cluster lacks CreateTopics and DeleteTopics: our client says so by API, where Confluent's said
        // nothing of the kind. A real cluster has both (see AdminClientTests on container/external).
        var topic = TestBrokerFixture.UniqueTopicName("shared");
        var create = await Assert.ThrowsAsync<UnsupportedApiVersionException>(() => broker.CreateTopicAsync(topic, 3, 3, ct));
        Assert.Equal(ApiKey.CreateTopics, create.ApiKey);
        var delete = await Assert.ThrowsAsync<UnsupportedApiVersionException>(() => broker.DeleteTopicAsync(topic, ct));
        Assert.Equal(ApiKey.DeleteTopics, delete.ApiKey);
    }

    [Fact(Timeout = 60_000)]
    public async Task Waiting_for_a_new_topic_returns_only_once_every_partition_has_a_leader()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 3, faultInjection: true, cancellationToken: ct);
        var faults = broker.Faults!;
        var topic = TestBrokerFixture.UniqueTopicName("leaderless");
        await broker.CreateTopicAsync(topic, partitions: 3, replicationFactor: 3, ct);
        faults.SetPartitionLeader(topic, 1, brokerId: -1);
        await using var admin = Admin(broker.BootstrapServers);

        faults.StartRequestTracking();
        var waiting = SharedTestBroker.WaitForLeadersAsync(admin, topic, 3, TimeSpan.FromSeconds(30), TimeProvider.System, ct);

        // It has looked at least twice and seen the leaderless partition each time: still waiting.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (CountMetadataRequests(faults) < 3 && !waiting.IsCompleted && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20, ct);
        }

        Assert.False(waiting.IsCompleted, "returned while partition 1 had no leader");
        Assert.True(CountMetadataRequests(faults) >= 3, "the wait stopped polling");

        faults.SetPartitionLeader(topic, 1, brokerId: 2);
        await waiting.WaitAsync(TimeSpan.FromSeconds(20), ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task Waiting_for_a_topic_that_never_gets_ready_times_out_with_the_reason()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 3, faultInjection: true, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("never-led");
        await broker.CreateTopicAsync(topic, partitions: 2, replicationFactor: 1, ct);
        broker.Faults!.SetPartitionLeader(topic, 1, brokerId: -1);
        await using var admin = Admin(broker.BootstrapServers);

        var leaderless = await Assert.ThrowsAsync<TimeoutException>(
            () => SharedTestBroker.WaitForLeadersAsync(admin, topic, 2, TimeSpan.FromMilliseconds(500), TimeProvider.System, ct));
        Assert.Contains("'" + topic + "'", leaderless.Message, StringComparison.Ordinal);
        Assert.Contains("partition 1 has no leader", leaderless.Message, StringComparison.Ordinal);

        var tooFew = await Assert.ThrowsAsync<TimeoutException>(
            () => SharedTestBroker.WaitForLeadersAsync(admin, topic, 4, TimeSpan.FromMilliseconds(500), TimeProvider.System, ct));
        Assert.Contains("2 of its 4 partitions", tooFew.Message, StringComparison.Ordinal);

        var absent = TestBrokerFixture.UniqueTopicName("absent");
        var missing = await Assert.ThrowsAsync<TimeoutException>(
            () => SharedTestBroker.WaitForLeadersAsync(admin, absent, 1, TimeSpan.FromMilliseconds(500), TimeProvider.System, ct));
        Assert.Contains("UNKNOWN_TOPIC_OR_PARTITION", missing.Message, StringComparison.Ordinal);
    }

    private static KafkaAdminClient Admin(string bootstrapServers) =>
        new(new KafkaAdminOptions { BootstrapServers = bootstrapServers, DefaultApiTimeout = TimeSpan.FromSeconds(20) });

    private static int CountMetadataRequests(Testing.IKafkaFaultInjector faults)
    {
        var count = 0;
        foreach (var request in faults.GetTrackedRequests())
        {
            count += request.ApiKey == ApiKey.Metadata ? 1 : 0;
        }

        return count;
    }
}
