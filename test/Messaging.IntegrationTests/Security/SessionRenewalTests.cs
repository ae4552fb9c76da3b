using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Messaging.IntegrationTests.Consumer;
using Messaging.IntegrationTests.Support;
using Messaging.Testing.Brokers;
using Messaging.Testing.Security;

namespace Messaging.IntegrationTests.Security;

/// <summary>
/// KIP-368 through the proxy, which grants short SASL sessions and closes a connection that sends a request after
/// its session ended, as Kafka does: the client authenticates again on the open connection, in band, while it keeps
/// producing and consuming, so no connection is replaced and no request fails.
/// </summary>
public sealed class SessionRenewalTests(TestBrokerFixture fixture) : IDisposable
{
    // Renewal starts at 85–95% of it: long enough that a loaded machine still renews before the end.
    private static readonly TimeSpan SessionLifetime = TimeSpan.FromSeconds(5);

    private readonly TestCertificateAuthority _ca = new();

    public void Dispose() => _ca.Dispose();

    [Theory(Timeout = 120_000)]
    [InlineData(SaslMechanism.Plain)]
    [InlineData(SaslMechanism.ScramSha256)]
    [InlineData(SaslMechanism.OAuthBearer)]
    public async Task Sessions_are_renewed_in_band_while_producing_and_consuming_on_the_same_connections(SaslMechanism mechanism)
    {
        const int Renewals = 4;
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("reauth");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        using var certificate = _ca.IssueServerCertificate();
        var proxyOptions = SaslThroughProxyTests.ProxyOptions(certificate, SaslOptions.NameOf(mechanism));
        proxyOptions.SessionLifetime = SessionLifetime;
        proxyOptions.OAuthBearerValidator = NotExpired;
        await using var proxy = KafkaProxy.Start(broker.BootstrapServers, proxyOptions);

        // Each token lives as long as a session and the proxy refuses expired ones, so every renewal must present a
        // fresh one (the client's cache fetches again once 80% of a token's lifetime passed).
        var tokens = 0;
        T Secure<T>(T options)
            where T : KafkaClientOptions
        {
            SaslThroughProxyTests.Secure(options, _ca, mechanism, "wonderland");
            options.Sasl.OAuthBearerTokenProvider = _ =>
            {
                Interlocked.Increment(ref tokens);
                var expires = DateTimeOffset.UtcNow + SessionLifetime;
                return ValueTask.FromResult(new OAuthBearerToken("token-" + expires.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture), expires));
            };
            return options;
        }

        await using var producer = new KafkaProducer(Secure(new KafkaProducerOptions { BootstrapServers = proxy.BootstrapServers }));
        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(proxy.BootstrapServers, o => Secure(o)));
        consumer.Assign(ConsumerTestSupport.All(topic, 1, OffsetSpec.Earliest));
        var consumed = new ConcurrentQueue<int>();
        using var stopConsuming = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var consuming = ConsumeAsync(consumer, consumed, stopConsuming.Token);

        // Warm up: one record each way, so every connection the two clients use is open.
        await producer.ProduceAsync(topic, (byte[]?)null, SequencedPayload.Create(0, 100), cancellationToken: ct);
        await Eventually.TrueAsync(() => !consumed.IsEmpty, TimeSpan.FromSeconds(30), "the first record was consumed", ct);
        var connections = proxy.Connections;

        // Produce one record after another while the consumer fetches, until sessions were renewed several times.
        var produced = 1;
        var started = Stopwatch.GetTimestamp();
        while (proxy.Reauthentications < Renewals)
        {
            Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(45), proxy.Reauthentications + " sessions renewed in band; " + (proxy.Connections - connections) + " new connections");
            await producer.ProduceAsync(topic, (byte[]?)null, SequencedPayload.Create(produced, 100), cancellationToken: ct); // a failed produce fails the test here
            produced++;
        }

        await Eventually.TrueAsync(() => consumed.Count >= produced, TimeSpan.FromSeconds(30), "every record was consumed", ct);
        await stopConsuming.CancelAsync();
        await consuming;

        Assert.Equal(0, proxy.ExpiredSessions);
        Assert.Equal(connections, proxy.Connections); // the same connections all along: none failed and was replaced
        Assert.Equal(Enumerable.Range(0, produced), consumed);
        if (mechanism == SaslMechanism.OAuthBearer)
        {
            Assert.True(Volatile.Read(ref tokens) >= 2, "the renewals presented refreshed tokens");
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_renewal_the_broker_refuses_closes_the_connection_and_reconnecting_reports_the_typed_refusal()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(cancellationToken: ct);
        using var certificate = _ca.IssueServerCertificate();
        var proxyOptions = SaslThroughProxyTests.ProxyOptions(certificate, "OAUTHBEARER");
        proxyOptions.SessionLifetime = TimeSpan.FromSeconds(2);
        var revoked = 0;
        proxyOptions.OAuthBearerValidator = token => Volatile.Read(ref revoked) == 0 && token == "good-token";
        await using var proxy = KafkaProxy.Start(broker.BootstrapServers, proxyOptions);
        var options = SaslThroughProxyTests.Secure(new KafkaClientOptions { BootstrapServers = proxy.BootstrapServers, ReconnectBackoff = TimeSpan.FromMilliseconds(20), ReconnectBackoffMax = TimeSpan.FromMilliseconds(200) }, _ca, SaslMechanism.OAuthBearer, "");
        await using var cluster = new Messaging.Cluster.ClusterClient(options);
        var connection = await cluster.Connections.GetAnyAsync(ct);

        Volatile.Write(ref revoked, 1); // the token is no longer accepted: the next renewal is refused
        await connection.Closed.WaitAsync(TimeSpan.FromSeconds(20), ct);

        Assert.Equal(0, proxy.Reauthentications); // the renewal was refused, and that closed the idle connection

        // Kafka closes the connection right after its refusal, so the old connection may report either; a new one
        // authenticates from scratch and gets the typed refusal (once the reconnect backoff has passed).
        var started = Stopwatch.GetTimestamp();
        KafkaAuthenticationException? refused = null;
        while (refused is null)
        {
            try
            {
                await cluster.Connections.GetAnyAsync(ct);
                Assert.Fail("a connection authenticated with a revoked token");
            }
            catch (KafkaAuthenticationException ex)
            {
                refused = ex;
            }
            catch (KafkaConnectionException) when (Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(20))
            {
                await Task.Delay(20, ct); // in the reconnect backoff after the close
            }
        }

        Assert.Contains("invalid_token", refused.Message, StringComparison.Ordinal);
    }

    /// <summary>Accepts <c>token-{expiry in Unix ms}</c> until its expiry, as a broker checks a token's <c>exp</c>.</summary>
    private static bool NotExpired(string token) =>
        token.StartsWith("token-", StringComparison.Ordinal)
        && long.TryParse(token.AsSpan(6), NumberStyles.None, CultureInfo.InvariantCulture, out var expires)
        && expires > DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private static async Task ConsumeAsync(KafkaConsumer<byte[]?, byte[]?> consumer, ConcurrentQueue<int> consumed, CancellationToken stop)
    {
        try
        {
            await foreach (var result in consumer.ConsumeAsync(stop))
            {
                consumed.Enqueue(SequencedPayload.Read(result.Value!));
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }
}
