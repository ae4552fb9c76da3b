using System.Diagnostics;
using Messaging.Cluster;
using Messaging.Core.Tests.Connection;
using Microsoft.Extensions.Time.Testing;

namespace Messaging.Core.Tests.Cluster;

/// <summary>The client's clock (<see cref="KafkaClientOptions.TimeProvider"/>) is the one its security layer counts on too.</summary>
public sealed class ClusterClientTimeProviderTests
{
    [Fact(Timeout = 20_000)]
    public async Task A_SASL_session_is_renewed_when_the_clients_clock_says_its_lifetime_is_ending()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider();
        var broker = new InMemoryBroker { SessionLifetime = TimeSpan.FromMinutes(1) };
        await using var cluster = new ClusterClient(new KafkaClientOptions
        {
            BootstrapServers = "broker1.test:9092",
            TransportFactory = broker,
            TimeProvider = time,
            SecurityProtocol = SecurityProtocol.SaslPlaintext,
            Sasl = { Mechanism = SaslMechanism.Plain, Username = "alice", Password = "secret" },
        });

        var connection = await cluster.GetAnyAsync(ct);
        Assert.Equal(1, broker.Authentications);

        // The whole session lifetime passes on the client's clock (well short of the idle timeout and the metadata max
        // age, so nothing else reconnects): the renewal, due at 85-95% of it, must have run on the same connection.
        time.Advance(TimeSpan.FromMinutes(1));
        var waited = Stopwatch.StartNew();
        while (broker.Authentications < 2 && waited.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(10, ct);
        }

        Assert.Equal(2, broker.Authentications);
        Assert.True(connection.IsOpen);
        Assert.Single(broker.Opened);
    }
}
