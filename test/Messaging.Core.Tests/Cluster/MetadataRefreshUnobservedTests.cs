using System.Runtime.CompilerServices;
using Messaging.Cluster;
using Messaging.Core.Tests.Connection;
using Messaging.Core.Tests.Support;

namespace Messaging.Core.Tests.Cluster;

/// <summary>
/// A refresh asked for without waiting (<see cref="MetadataRefresher.RequestRefresh"/>: a stale-metadata error, a lost
/// broker) that then fails leaves no faulted task nobody observed: the process-wide
/// <see cref="TaskScheduler.UnobservedTaskException"/> would report every such failure as a bug of the application.
/// </summary>
public sealed class MetadataRefreshUnobservedTests
{
    // Named in the refresh's error, so that another test's unobserved exception (the event is process-wide) does not count.
    private const string Host = "unobserved-refresh.test";

    [Fact(Timeout = 10_000)]
    public async Task A_failed_refresh_nobody_waited_for_raises_no_unobserved_task_exception()
    {
        var ct = TestContext.Current.CancellationToken;
        using var unobserved = new UnobservedExceptions(Host);
        var broker = new InMemoryBroker();
        broker.Down[Host] = true; // every refresh fails: no broker can be reached
        await using var cluster = new ClusterClient(new KafkaClientOptions { BootstrapServers = Host + ":9092", TransportFactory = broker });

        await RequestOnlyAndWaitUntilItFailedAsync(cluster.Metadata, broker, ct);
        UnobservedExceptions.Collect();
        UnobservedExceptions.Collect();

        Assert.Equal(0, unobserved.Count);
    }

    /// <summary>Not inlined: nothing of the first refresh stays reachable from the test's own frame when the GC runs.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task RequestOnlyAndWaitUntilItFailedAsync(MetadataRefresher metadata, InMemoryBroker broker, CancellationToken ct)
    {
        metadata.RequestRefresh();

        // The refresh loop took the request (it connects only after taking it); a refresh asked for now is the next
        // one, which the loop runs only after the first failed.
        await broker.ConnectStarted.Task.WaitAsync(ct);
        await Assert.ThrowsAsync<KafkaConnectionException>(() => metadata.RefreshAsync(ct));
    }
}
