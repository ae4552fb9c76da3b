using Messaging.IntegrationTests.EmbeddedBroker;
using Messaging.Testing;
using Messaging.Testing.Security;

namespace Messaging.IntegrationTests.Security;

/// <summary>Disposing the proxy twice at once: neither call returns before the proxy stopped listening.</summary>
public sealed class ProxyDisposeTests
{
    [Fact(Timeout = 60_000)]
    public async Task A_second_concurrent_dispose_returns_only_once_the_proxy_is_closed()
    {
        var ct = TestContext.Current.CancellationToken;
        using var cluster = EmbeddedKafkaCluster.Start(brokers: 1);
        var proxy = KafkaProxy.Start(cluster);
        var (host, port) = ClusterLifecycleTests.FirstEndpoint(proxy.BootstrapServers);

        var first = proxy.DisposeAsync().AsTask();
        var second = proxy.DisposeAsync().AsTask();
        var secondReturnedFirst = second.IsCompleted && !first.IsCompleted;
        await second.WaitAsync(TimeSpan.FromSeconds(10), ct);
        var listening = await ClusterLifecycleTests.AcceptsAsync(host, port, ct);
        await first.WaitAsync(TimeSpan.FromSeconds(10), ct);

        Assert.False(secondReturnedFirst || listening, "the second DisposeAsync returned while the first was still closing the proxy (listening: " + listening + ")");
    }
}
