using Messaging.Testing;
using Messaging.Testing.Security;

namespace Messaging.IntegrationTests.Security;

/// <summary>An embedded cluster behind a proxy that answers fetches on arrival, and a producer through the proxy.</summary>
internal sealed class FetchOnArrivalSetup(EmbeddedKafkaCluster cluster, KafkaProxy proxy, KafkaProducer producer) : IAsyncDisposable
{
    public EmbeddedKafkaCluster Cluster => cluster;

    public KafkaProxy Proxy => proxy;

    public static FetchOnArrivalSetup Start(Action<KafkaProxyOptions>? configure = null)
    {
        var cluster = EmbeddedKafkaCluster.Start(1);
        var options = new KafkaProxyOptions { AnswerFetchesOnArrival = true };
        configure?.Invoke(options);
        var proxy = KafkaProxy.Start(cluster, options);
        return new FetchOnArrivalSetup(cluster, proxy, new KafkaProducer(new KafkaProducerOptions { BootstrapServers = proxy.BootstrapServers }));
    }

    public string Topic(int partitions)
    {
        var topic = "arrival-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic, partitions, 1);
        return topic;
    }

    /// <summary>Produces one record to partition 0 through the proxy and waits for its acknowledgement.</summary>
    public Task ProduceAsync(string topic, byte[] value, CancellationToken ct) => ProduceAsync(topic, 0, value, ct);

    /// <summary>Produces one record through the proxy and waits for its acknowledgement.</summary>
    public async Task ProduceAsync(string topic, int partition, byte[] value, CancellationToken ct) =>
        await producer.ProduceAsync(topic, (byte[]?)null, value, partition: partition, cancellationToken: ct);

    public async ValueTask DisposeAsync()
    {
        await producer.DisposeAsync();
        await proxy.DisposeAsync();
        await cluster.DisposeAsync();
    }
}
