using System.Globalization;
using Messaging.Testing;

namespace Messaging.Perf;

/// <summary>
/// The broker a perf run talks to: an embedded cluster of <c>--brokers</c> brokers (the default), or the real cluster
/// named by <c>--bootstrap</c>. Creates the run's topic either way; disposing stops an embedded cluster.
/// </summary>
internal sealed class PerfBroker : IAsyncDisposable
{
    private readonly EmbeddedKafkaCluster? _cluster;

    private PerfBroker(EmbeddedKafkaCluster? cluster, string bootstrapServers, int brokers)
    {
        _cluster = cluster;
        BootstrapServers = bootstrapServers;
        Brokers = brokers;
    }

    public string BootstrapServers { get; }

    public int Brokers { get; }

    /// <summary>True for the embedded cluster (whose group settings the run may set), false for a real one.</summary>
    public bool IsEmbedded => _cluster is not null;

    /// <summary>For the run's header: the address of a real cluster, or which embedded broker it is.</summary>
    public string Description => _cluster is null
        ? BootstrapServers
        : "embedded (librdkafka " + EmbeddedKafkaCluster.LibrdkafkaVersion + " mock)";

    public static PerfBroker Start(string? bootstrap, int brokers)
    {
        if (bootstrap is not null)
        {
            return new PerfBroker(null, bootstrap, brokers);
        }

        var cluster = EmbeddedKafkaCluster.Start(brokers);
        return new PerfBroker(cluster, cluster.BootstrapServers, brokers);
    }

    /// <summary>Starts counting the requests the embedded broker receives (nothing on a real cluster).</summary>
    public void StartCountingRequests()
    {
        _cluster?.ClearTrackedRequests();
        _cluster?.StartRequestTracking();
    }

    /// <summary>
    /// Stops counting and describes what was received per API ("Fetch=1,924, Produce=626"), or null on a real
    /// cluster. Requests per call show how well each client batches: each one costs both the client and the broker.
    /// </summary>
    public string? StopCountingRequests()
    {
        if (_cluster is null)
        {
            return null;
        }

        _cluster.StopRequestTracking();
        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var request in _cluster.GetTrackedRequests())
        {
            var api = request.ApiKey.ToString();
            counts[api] = counts.GetValueOrDefault(api) + 1;
        }

        _cluster.ClearTrackedRequests();
        return string.Join(", ", counts.Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Key}={c.Value:N0}")));
    }

    /// <summary>Creates a topic with a fresh name (<paramref name="prefix"/> plus a random suffix) and returns the name.</summary>
    public async Task<string> CreateTopicAsync(string prefix, int partitions, CancellationToken cancellationToken)
    {
        var topic = prefix + Guid.NewGuid().ToString("N")[..8];
        if (_cluster is not null)
        {
            _cluster.CreateTopic(topic, partitions, Math.Min(3, Brokers));
        }
        else
        {
            await using var admin = new KafkaAdminClient(new KafkaAdminOptions { BootstrapServers = BootstrapServers });
            await admin.CreateTopicsAsync([new NewTopic(topic, partitions, 1)], cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        return topic;
    }

    /// <summary>
    /// Sets how long the embedded broker lets a new group wait for more members before its first rebalance; a real
    /// cluster keeps its own <c>group.initial.rebalance.delay.ms</c> (the run's header says which applied).
    /// </summary>
    public void SetGroupInitialRebalanceDelay(TimeSpan delay) => _cluster?.SetGroupInitialRebalanceDelay(delay);

    public ValueTask DisposeAsync() => _cluster?.DisposeAsync() ?? ValueTask.CompletedTask;
}
