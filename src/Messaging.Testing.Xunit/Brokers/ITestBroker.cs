namespace Messaging.Testing.Brokers;

/// <summary>
/// A broker a test has acquired from <see cref="TestBrokerFixture"/>. Dispose it when the test ends: an embedded
/// cluster is destroyed, a shared one (container, external) is left running for the next test.
/// </summary>
public interface ITestBroker : IAsyncDisposable
{
    /// <summary>What kind of broker this is.</summary>
    TestBrokerKind Kind { get; }

    /// <summary>The bootstrap servers to give a client, <c>host:port,...</c>.</summary>
    string BootstrapServers { get; }

    /// <summary>How many brokers the cluster has.</summary>
    int BrokerCount { get; }

    /// <summary>The broker's fault injection, or null when this kind of broker cannot inject faults.</summary>
    IKafkaFaultInjector? Faults { get; }

    /// <summary>Creates a topic and waits until it can be used. The replication factor is capped at <see cref="BrokerCount"/>.</summary>
    Task CreateTopicAsync(string topic, int partitions, int replicationFactor = 1, CancellationToken cancellationToken = default);

    /// <summary>Deletes a topic.</summary>
    Task DeleteTopicAsync(string topic, CancellationToken cancellationToken = default);
}
