using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace Messaging.Testing.Brokers;

/// <summary>
/// A real Kafka shared by every test of the run (a container the fixture started, or an external cluster).
/// Topics are managed with Confluent.Kafka's admin client until our own admin client lands. Disposing this
/// lease leaves the broker running.
/// </summary>
internal sealed class SharedTestBroker : ITestBroker
{
    private static readonly TimeSpan TopicReadyTimeout = TimeSpan.FromSeconds(30);

    public SharedTestBroker(TestBrokerKind kind, string bootstrapServers, int brokerCount)
    {
        Kind = kind;
        BootstrapServers = bootstrapServers;
        BrokerCount = brokerCount;
    }

    public TestBrokerKind Kind { get; }

    public string BootstrapServers { get; }

    public int BrokerCount { get; }

    public IKafkaFaultInjector? Faults => null;

    /// <summary>Asks a real cluster how many brokers it has.</summary>
    public static int CountBrokers(string bootstrapServers)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrapServers }).Build();
        return admin.GetMetadata(TimeSpan.FromSeconds(30)).Brokers.Count;
    }

    public async Task CreateTopicAsync(string topic, int partitions, int replicationFactor = 1, CancellationToken cancellationToken = default)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = BootstrapServers }).Build();
        var specification = new TopicSpecification
        {
            Name = topic,
            NumPartitions = partitions,
            ReplicationFactor = (short)Math.Min(replicationFactor, BrokerCount),
        };
        await admin.CreateTopicsAsync([specification]).WaitAsync(TopicReadyTimeout, cancellationToken).ConfigureAwait(false);

        // CreateTopics returns when the controller accepted it; wait until every partition has a leader.
        var deadline = DateTime.UtcNow + TopicReadyTimeout;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var metadata = admin.GetMetadata(topic, TimeSpan.FromSeconds(5));
            var ready = metadata.Topics.Count == 1 && metadata.Topics[0].Error.Code == Confluent.Kafka.ErrorCode.NoError
                        && metadata.Topics[0].Partitions.Count == partitions;
            if (ready)
            {
                foreach (var partition in metadata.Topics[0].Partitions)
                {
                    ready &= partition.Leader >= 0;
                }
            }

            if (ready)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Topic '{topic}' was created on {BootstrapServers} but its partitions had no leader after {TopicReadyTimeout.TotalSeconds} s.");
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task DeleteTopicAsync(string topic, CancellationToken cancellationToken = default)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = BootstrapServers }).Build();
        await admin.DeleteTopicsAsync([topic]).WaitAsync(TopicReadyTimeout, cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    public override string ToString() => Kind.ToString().ToLowerInvariant() + " Kafka at " + BootstrapServers;
}
