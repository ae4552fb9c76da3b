using Messaging.Connection;
using Microsoft.Extensions.Time.Testing;

namespace Messaging.Core.Tests.Connection;

/// <summary>
/// A request for any broker (metadata, a coordinator lookup) goes to a broker that may send (KIP-219, as the Java
/// client's least-loaded node): a connection the broker muted with a throttle holds every request back until the
/// mute ends, so while another broker's connection is free, that one is taken. When every connection is muted, the
/// one whose mute ends first.
/// </summary>
public sealed class ThrottledLeastLoadedTests
{
    private static readonly BrokerEndpoint Broker1 = new("broker1.test", 9092, NodeId: 1);
    private static readonly BrokerEndpoint Broker2 = new("broker2.test", 9092, NodeId: 2);

    private static ConnectionSettings Settings(InMemoryBroker broker, FakeTimeProvider time) => new(new KafkaClientOptions
    {
        BootstrapServers = "broker1.test:9092",
        TransportFactory = broker,
        TimeProvider = time,
        RequestTimeout = TimeSpan.FromHours(1), // the mute is capped at the request timeout
    });

    [Fact(Timeout = 10_000)]
    public async Task Any_broker_is_one_whose_connection_is_not_muted()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider();
        await using var connections = new BrokerConnections(Settings(new InMemoryBroker(), time), [Broker1]);
        connections.UpdateBrokers([Broker1, Broker2]);
        var muted = await connections.GetAsync(1, ct);
        var free = await connections.GetAsync(2, ct);

        muted.ReportThrottle(ApiKey.Metadata, 60_000);
        var chosen = await connections.GetAnyAsync(ct);

        Assert.True(ReferenceEquals(chosen, free), "any-broker request went to " + chosen.Name + ", muted for a minute, while " + free.Name + " was free to send");
    }

    [Fact(Timeout = 10_000)]
    public async Task When_every_connection_is_muted_any_broker_is_the_one_whose_mute_ends_first()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider();
        var broker = new InMemoryBroker();
        await using var connections = new BrokerConnections(Settings(broker, time), [Broker1]);
        connections.UpdateBrokers([Broker1, Broker2]);
        var longer = await connections.GetAsync(1, ct);
        var shorter = await connections.GetAsync(2, ct);

        longer.ReportThrottle(ApiKey.Metadata, 60_000);
        shorter.ReportThrottle(ApiKey.Metadata, 5_000);
        var chosen = await connections.GetAnyAsync(ct);

        Assert.True(ReferenceEquals(chosen, shorter), "any-broker request went to " + chosen.Name + ", muted for a minute, while " + shorter.Name + "'s mute ends in 5 s");
        Assert.Equal(2, broker.Connects);
    }
}
