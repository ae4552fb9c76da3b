using Messaging.Connection;
using Microsoft.Extensions.Time.Testing;

namespace Messaging.Core.Tests.Connection;

/// <summary>
/// A connection a broker muted with a throttle (KIP-219) is not idle while the mute lasts: the idle sweep closing it
/// would fail its waiting senders and drop the throttle (a new connection would send at once what the broker asked us
/// to hold back). Its idle time counts from the mute's end.
/// </summary>
public sealed class ThrottledIdleTests
{
    private static readonly BrokerEndpoint Broker = new("broker1.test", 9092, NodeId: 1);

    [Fact(Timeout = 10_000)]
    public async Task A_muted_connection_is_not_closed_as_idle_until_connections_max_idle_after_its_mute_ends()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider();
        var broker = new InMemoryBroker();
        var settings = new ConnectionSettings(new KafkaClientOptions
        {
            BootstrapServers = "broker1.test:9092",
            TransportFactory = broker,
            TimeProvider = time,
            RequestTimeout = TimeSpan.FromHours(1), // the mute is capped at the request timeout
            ConnectionsMaxIdle = TimeSpan.FromMinutes(9),
        });
        await using var connections = new BrokerConnections(settings, [Broker]);
        connections.UpdateBrokers([Broker]);
        var connection = await connections.GetAsync(1, ct);

        connection.ReportThrottle(ApiKey.Produce, (int)TimeSpan.FromMinutes(10).TotalMilliseconds);
        Assert.False(connection.CloseIfIdle(TimeSpan.FromMinutes(9)));

        // Past connections.max.idle.ms since the last send, still inside the mute.
        time.Advance(TimeSpan.FromMinutes(9.5));
        Assert.False(connection.CloseIfIdle(TimeSpan.FromMinutes(9)), "a connection still muted was closed as idle");
        Assert.True(connection.IsOpen);

        // The mute ended a minute ago: not idle yet.
        time.Advance(TimeSpan.FromMinutes(1.5));
        Assert.False(connection.CloseIfIdle(TimeSpan.FromMinutes(9)), "the idle time did not count from the mute's end");
        Assert.True(connection.IsOpen);

        // connections.max.idle.ms after the mute's end: idle (the sweep, run as the clock moves, or this call closes it).
        time.Advance(TimeSpan.FromMinutes(8.5));
        connection.CloseIfIdle(TimeSpan.FromMinutes(9));
        Assert.False(connection.IsOpen);
    }
}
