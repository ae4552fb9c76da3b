using Messaging.Connection;
using Messaging.Core.Tests.Connection;
using Messaging.Protocol.Messages;
using Messaging.Security;
using Microsoft.Extensions.Time.Testing;

namespace Messaging.Core.Tests.Security;

/// <summary>The SASL session lifetime a broker grants (KIP-368), whatever its size, leaves the connection usable.</summary>
public sealed class SessionLifetimeTests
{
    public static TheoryData<long> LongLifetimes => new()
    {
        (long)TimeSpan.FromDays(60).TotalMilliseconds, // connections.max.reauth.ms of two months: past what a timer can wait at once
        long.MaxValue, // connections.max.reauth.ms set to Long.MAX_VALUE: past what a TimeSpan holds
    };

    [Theory(Timeout = 20_000)]
    [MemberData(nameof(LongLifetimes))]
    public async Task A_session_lifetime_longer_than_a_timer_can_wait_still_connects(long lifetimeMs)
    {
        var ct = TestContext.Current.CancellationToken;
        var broker = new InMemoryBroker { SessionLifetimeMs = lifetimeMs };
        var settings = new ConnectionSettings(new KafkaClientOptions { BootstrapServers = "broker.test:9092", TransportFactory = broker })
        {
            Authenticator = new SaslAuthenticator(new PlainMechanism("alice", "secret"), TimeProvider.System),
        };

        await using var connection = await BrokerConnection.ConnectAsync(new BrokerEndpoint("broker.test", 9092, NodeId: 1), settings, ct);
        Assert.True(connection.IsOpen);
        Assert.Equal(1, broker.Authentications);
    }

    [Fact(Timeout = 20_000)]
    public async Task A_session_longer_than_a_timer_can_wait_is_renewed_once_the_longest_wait_has_passed()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider();
        var broker = new InMemoryBroker { SessionLifetime = TimeSpan.FromDays(60) };
        // Only the renewal counts on the fake clock: the connection's own timers (the timeout sweep) stay on the real one.
        var settings = new ConnectionSettings(new KafkaClientOptions { BootstrapServers = "broker.test:9092", TransportFactory = broker })
        {
            Authenticator = new SaslAuthenticator(new PlainMechanism("alice", "secret"), time),
        };

        await using var connection = await BrokerConnection.ConnectAsync(new BrokerEndpoint("broker.test", 9092, NodeId: 1), settings, ct);
        time.Advance(SaslSessionRenewal.MaxDue);
        while (broker.Authentications < 2)
        {
            await Task.Delay(10, ct); // the renewal runs on the thread pool once the fake clock fired its timer
        }

        Assert.True(connection.IsOpen);
        Assert.Single(broker.Opened);
    }

    [Fact(Timeout = 20_000)]
    public async Task A_session_is_renewed_with_requests_in_flight_when_the_request_timeout_is_the_largest_there_is()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider();
        var holding = false;
        var broker = new InMemoryBroker { SessionLifetime = TimeSpan.FromHours(1), Hold = _ => Volatile.Read(ref holding) };
        var settings = new ConnectionSettings(new KafkaClientOptions
        {
            BootstrapServers = "broker.test:9092",
            TransportFactory = broker,
            RequestTimeout = TimeSpan.MaxValue,
        })
        {
            Authenticator = new SaslAuthenticator(new PlainMechanism("alice", "secret"), time),
        };

        await using var connection = await BrokerConnection.ConnectAsync(new BrokerEndpoint("broker.test", 9092, NodeId: 1), settings, ct);
        var transport = Assert.Single(broker.Opened);

        // A request in flight (its deadline: as far off as the clock goes) when the renewal is due.
        Volatile.Write(ref holding, true);
        var inFlight = connection.SendAsync<MetadataRequest, MetadataResponse>(new() { Topics = [] }, ct).AsTask();
        time.Advance(TimeSpan.FromHours(1));

        // The renewal's SaslHandshake goes out behind it (the broker answers in order, so both are held and answered in turn).
        await WaitUntilAsync(() => transport.Held.Count == 2 || !connection.IsOpen, "the renewal's SaslHandshake written behind the request in flight", ct);
        Assert.True(connection.IsOpen, "the renewal closed the connection: " + connection.Failure);
        transport.AnswerHeld();
        transport.AnswerHeld();
        await WaitUntilAsync(() => !transport.Held.IsEmpty || !connection.IsOpen, "the renewal's SaslAuthenticate", ct);
        transport.AnswerHeld();

        await WaitUntilAsync(() => broker.Authentications == 2, "the renewal answered", ct);
        Assert.Equal(1, (await inFlight).ControllerId);
        Assert.True(connection.IsOpen, "the renewal closed the connection: " + connection.Failure);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for " + what);
            await Task.Delay(5, ct);
        }
    }
}
