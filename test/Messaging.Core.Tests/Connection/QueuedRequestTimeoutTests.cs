using Messaging.Connection;
using Messaging.Protocol.Messages;
using Microsoft.Extensions.Time.Testing;

namespace Messaging.Core.Tests.Connection;

/// <summary>
/// A request that waits for an in-flight slot has not reached the broker yet: its request timeout counts from when it
/// is written, as a throttled request's does. Counting the wait too would have the timeout sweep close a healthy
/// connection — failing every other request on it — for a request the broker got only a moment ago.
/// </summary>
public sealed class QueuedRequestTimeoutTests
{
    private static readonly BrokerEndpoint Broker = new("broker1.test", 9092, NodeId: 1);

    [Fact(Timeout = 10_000)]
    public async Task A_request_that_waited_for_an_in_flight_slot_gets_its_whole_request_timeout_once_written()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider();
        var broker = new InMemoryBroker { Hold = static key => key == ApiKey.Metadata };
        var settings = new ConnectionSettings(new KafkaClientOptions
        {
            BootstrapServers = "broker1.test:9092",
            TransportFactory = broker,
            TimeProvider = time,
            RequestTimeout = TimeSpan.FromSeconds(10),
            MaxInFlightRequestsPerConnection = 1,
        });
        var connection = await BrokerConnection.ConnectAsync(Broker, settings, ct);
        await using var _ = connection;
        var transport = Assert.Single(broker.Opened);

        // The first request takes the only slot; the second waits for it, unwritten.
        var first = connection.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [] }, ct).AsTask();
        var second = connection.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [] }, ct).AsTask();
        Assert.Single(transport.Held);

        // The broker answers the first just within its timeout; only now is the second written.
        time.Advance(TimeSpan.FromSeconds(9));
        transport.AnswerHeld();
        await first.WaitAsync(TimeSpan.FromSeconds(5), ct);
        Assert.True(SpinWait.SpinUntil(() => transport.Held.Count == 1, TimeSpan.FromSeconds(5)), "the second request was not written once the first was answered");

        // Two seconds after it was written (eleven after it was asked for), it is still within its timeout.
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.True(connection.IsOpen, "the connection was closed for a request written 2 s ago: " + connection.Failure?.Message);
        Assert.False(second.IsCompleted);

        // And it still times out, a request timeout after it was written.
        time.Advance(TimeSpan.FromSeconds(9));
        var timeout = await Assert.ThrowsAsync<KafkaTimeoutException>(() => second.WaitAsync(TimeSpan.FromSeconds(5), ct));
        Assert.Contains("Metadata", timeout.Message, StringComparison.Ordinal);
        Assert.False(connection.IsOpen);
    }
}
