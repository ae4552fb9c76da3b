using Messaging.Cluster;
using Messaging.Core.Tests.Connection;

namespace Messaging.Core.Tests.Cluster;

/// <summary>A refresh asked for once the refresher is disposed fails at once instead of waiting for a loop that has stopped.</summary>
public sealed class MetadataRefresherDisposeTests
{
    [Fact(Timeout = 10_000)]
    public async Task A_refresh_asked_for_after_disposal_fails_as_disposed()
    {
        var ct = TestContext.Current.CancellationToken;
        var cluster = new ClusterClient(new KafkaClientOptions { BootstrapServers = "broker1.test:9092", TransportFactory = new InMemoryBroker() });
        var metadata = cluster.Metadata;
        await cluster.DisposeAsync();

        // Bounded only so that the failure before the fix (a wait nobody ends) shows as a failed test, not a hang.
        await Assert.ThrowsAsync<ObjectDisposedException>(() => metadata.RefreshAsync(ct).WaitAsync(TimeSpan.FromSeconds(5), ct));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => metadata.EnsureTopicsAsync(["orders"], ct).WaitAsync(TimeSpan.FromSeconds(5), ct));
    }
}
