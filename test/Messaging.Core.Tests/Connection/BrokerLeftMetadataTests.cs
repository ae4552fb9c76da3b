using Messaging.Connection;
using Messaging.Protocol.Messages;
using Microsoft.Extensions.Time.Testing;

namespace Messaging.Core.Tests.Connection;

/// <summary>
/// One metadata answer that leaves a broker out (the broker briefly fenced, or a lagging broker's view) must not fail
/// the requests in flight on its live connection: their retry could apply a produce twice. Like the Java client, the
/// connection stays until nothing is pending on it; then it closes (the broker is no longer known).
/// </summary>
public sealed class BrokerLeftMetadataTests
{
    private static readonly BrokerEndpoint Broker = new("broker1.test", 9092, NodeId: 1);

    [Fact(Timeout = 10_000)]
    public async Task A_request_in_flight_when_its_broker_leaves_the_metadata_gets_its_answer_and_the_connection_closes_after()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider();
        var broker = new InMemoryBroker { Hold = static key => key == ApiKey.Metadata };
        var settings = new ConnectionSettings(new KafkaClientOptions { BootstrapServers = "broker1.test:9092", TransportFactory = broker, TimeProvider = time });
        await using var connections = new BrokerConnections(settings, [Broker]);
        connections.UpdateBrokers([Broker]);
        var connection = await connections.GetAsync(1, ct);
        var sending = connection.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [] }, ct).AsTask();
        var transport = Assert.Single(broker.Opened);
        Assert.Single(transport.Held); // written: the broker has it

        connections.UpdateBrokers([]); // one metadata answer leaves broker 1 out

        Assert.True(connection.IsOpen, "the connection was closed with a request in flight: " + connection.Failure?.Message);
        Assert.False(connections.IsKnown(1));
        transport.AnswerHeld();
        Assert.Equal(1, (await sending.WaitAsync(TimeSpan.FromSeconds(5), ct)).ControllerId);

        // Nothing pending any more: the next idle sweep closes it (the sweep runs at most every 30 s).
        time.Advance(TimeSpan.FromSeconds(30));
        await connection.Closed.WaitAsync(TimeSpan.FromSeconds(5), ct);
    }

    [Fact(Timeout = 10_000)]
    public async Task A_connection_kept_for_its_requests_after_its_broker_left_is_closed_when_the_connections_are_disposed()
    {
        var ct = TestContext.Current.CancellationToken;
        var broker = new InMemoryBroker { Hold = static key => key == ApiKey.Metadata };
        var settings = new ConnectionSettings(new KafkaClientOptions { BootstrapServers = "broker1.test:9092", TransportFactory = broker });
        var connections = new BrokerConnections(settings, [Broker]);
        connections.UpdateBrokers([Broker]);
        var connection = await connections.GetAsync(1, ct);
        var sending = connection.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [] }, ct).AsTask();
        connections.UpdateBrokers([]);
        Assert.True(connection.IsOpen, "the connection was closed with a request in flight");

        await connections.DisposeAsync();

        Assert.False(connection.IsOpen);
        Assert.True(Assert.Single(broker.Opened).IsClosed);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => sending.WaitAsync(TimeSpan.FromSeconds(5), ct));
    }
}
