using System.Globalization;

namespace Messaging.Testing.Brokers;

/// <summary>
/// A real Kafka shared by every test of the run (a container the fixture started, or an external cluster).
/// Topics are managed with our own <see cref="KafkaAdminClient"/>, one per call, disposed before the call returns.
/// Disposing this lease leaves the broker running.
/// </summary>
internal sealed class SharedTestBroker : ITestBroker
{
    /// <summary>How long an admin call, and the wait for a new topic's leaders, may take.</summary>
    internal static readonly TimeSpan TopicReadyTimeout = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

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
    public static async Task<int> CountBrokersAsync(string bootstrapServers, CancellationToken cancellationToken)
    {
        var admin = CreateAdmin(bootstrapServers);
        await using (admin.ConfigureAwait(false))
        {
            var cluster = await admin.DescribeClusterAsync(cancellationToken).ConfigureAwait(false);
            return cluster.Brokers.Count;
        }
    }

    public async Task CreateTopicAsync(string topic, int partitions, int replicationFactor = 1, CancellationToken cancellationToken = default)
    {
        var admin = CreateAdmin(BootstrapServers);
        await using (admin.ConfigureAwait(false))
        {
            var replicas = (short)Math.Min(replicationFactor, BrokerCount);
            await admin.CreateTopicsAsync([new NewTopic(topic, partitions, replicas)], cancellationToken: cancellationToken).ConfigureAwait(false);

            // CreateTopics returns when the controller accepted it; a produce sent now could still find no leader.
            await WaitForLeadersAsync(admin, topic, partitions, TopicReadyTimeout, TimeProvider.System, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task DeleteTopicAsync(string topic, CancellationToken cancellationToken = default)
    {
        var admin = CreateAdmin(BootstrapServers);
        await using (admin.ConfigureAwait(false))
        {
            await admin.DeleteTopicsAsync([topic], cancellationToken).ConfigureAwait(false);
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    public override string ToString() => Kind.ToString().ToLowerInvariant() + " Kafka at " + BootstrapServers;

    /// <summary>
    /// Polls the topic's metadata until it has <paramref name="partitions"/> partitions and each has a leader. A topic
    /// the metadata does not show yet, or shows with an error, is not ready; after <paramref name="timeout"/> the last
    /// reason it was not ready is thrown as a <see cref="TimeoutException"/>.
    /// </summary>
    internal static async Task WaitForLeadersAsync(
        KafkaAdminClient admin, string topic, int partitions, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        while (true)
        {
            string? notReady;
            try
            {
                var described = await admin.DescribeTopicsAsync([topic], cancellationToken).ConfigureAwait(false);
                notReady = WhyNotReady(described[0], partitions);
            }
            catch (KafkaAdminException ex)
            {
                notReady = ex.Message;
            }

            if (notReady is null)
            {
                return;
            }

            if (time.GetElapsedTime(started) >= timeout)
            {
                throw new TimeoutException(string.Create(CultureInfo.InvariantCulture,
                    $"Topic '{topic}' was not ready after {timeout.TotalSeconds} s: {notReady}"));
            }

            await Task.Delay(PollInterval, time, cancellationToken).ConfigureAwait(false);
        }
    }

    private static string? WhyNotReady(TopicInfo topic, int partitions)
    {
        if (topic.Partitions.Count != partitions)
        {
            return string.Create(CultureInfo.InvariantCulture, $"the metadata shows {topic.Partitions.Count} of its {partitions} partitions.");
        }

        foreach (var partition in topic.Partitions)
        {
            if (partition.Leader < 0)
            {
                return string.Create(CultureInfo.InvariantCulture, $"partition {partition.Partition} has no leader.");
            }
        }

        return null;
    }

    private static KafkaAdminClient CreateAdmin(string bootstrapServers) =>
        new(new KafkaAdminOptions { BootstrapServers = bootstrapServers, DefaultApiTimeout = TopicReadyTimeout });
}
