namespace Messaging.Testing.Brokers;

/// <summary>A test's own embedded cluster: created for it, destroyed when it disposes the broker.</summary>
internal sealed class EmbeddedTestBroker : ITestBroker
{
    private readonly EmbeddedKafkaCluster _cluster;

    public EmbeddedTestBroker(EmbeddedKafkaCluster cluster) => _cluster = cluster;

    public TestBrokerKind Kind => TestBrokerKind.Embedded;

    public string BootstrapServers => _cluster.BootstrapServers;

    public int BrokerCount => _cluster.BrokerCount;

    public IKafkaFaultInjector? Faults => _cluster;

    /// <summary>The cluster itself, for the mock-only calls beyond <see cref="IKafkaFaultInjector"/>.</summary>
    public EmbeddedKafkaCluster Cluster => _cluster;

    public Task CreateTopicAsync(string topic, int partitions, int replicationFactor = 1, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _cluster.CreateTopic(topic, partitions, Math.Min(replicationFactor, _cluster.BrokerCount));
        return Task.CompletedTask;
    }

    public Task DeleteTopicAsync(string topic, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _cluster.DeleteTopic(topic);
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync() => _cluster.DisposeAsync();

    public override string ToString() => "embedded " + _cluster;
}
