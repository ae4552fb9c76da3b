using Messaging.Connection;
using Messaging.Security;
using Microsoft.Extensions.Time.Testing;

namespace Messaging.Core.Tests.Connection;

/// <summary>
/// The connection setup timeout accepts any positive value, TimeSpan.MaxValue ("no limit") included: connecting, and
/// renewing a SASL session (a setup step repeated, bounded by the same timeout), work with it.
/// </summary>
public sealed class LargestSetupTimeoutTests
{
    private static readonly BrokerEndpoint Broker = new("broker.test", 9092, NodeId: 1);

    [Fact(Timeout = 10_000)]
    public async Task A_connection_setup_timeout_of_TimeSpan_MaxValue_connects_and_renews_sessions()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider();
        var broker = new InMemoryBroker { SessionLifetime = TimeSpan.FromHours(1) };
        var settings = new ConnectionSettings(new KafkaClientOptions
        {
            BootstrapServers = "broker.test:9092",
            TransportFactory = broker,
            SocketConnectionSetupTimeout = TimeSpan.MaxValue,
        })
        {
            Authenticator = new SaslAuthenticator(new PlainMechanism("alice", "secret"), time),
        };

        await using var connection = await BrokerConnection.ConnectAsync(Broker, settings, ct);
        Assert.True(connection.IsOpen);

        time.Advance(TimeSpan.FromHours(1));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (broker.Authentications < 2 && connection.IsOpen)
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for the session to be renewed");
            await Task.Delay(5, ct);
        }

        Assert.True(connection.IsOpen, "the renewal closed the connection: " + connection.Failure);
    }
}
