using System.Security.Cryptography.X509Certificates;
using Messaging.Cluster;
using Messaging.IntegrationTests.Consumer;
using Messaging.Testing.Brokers;
using Messaging.Testing.Security;

namespace Messaging.IntegrationTests.Security;

/// <summary>
/// The client against the proxy's TLS and SASL in front of the embedded broker: producing and consuming with each
/// mechanism over SASL_SSL, and each refusal a typed, non-retriable <see cref="KafkaAuthenticationException"/>.
/// </summary>
public sealed class SaslThroughProxyTests(TestBrokerFixture fixture) : IDisposable
{
    private readonly TestCertificateAuthority _ca = new();

    public void Dispose() => _ca.Dispose();

    public static TheoryData<SaslMechanism> Mechanisms => [SaslMechanism.Plain, SaslMechanism.ScramSha256, SaslMechanism.ScramSha512, SaslMechanism.OAuthBearer];

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(Mechanisms))]
    public async Task Producer_and_consumer_work_over_sasl_ssl_with_each_mechanism(SaslMechanism mechanism)
    {
        const int Records = 20;
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("sasl");
        await broker.CreateTopicAsync(topic, 2, 1, ct);
        using var certificate = _ca.IssueServerCertificate();
        await using var proxy = KafkaProxy.Start(broker.BootstrapServers, ProxyOptions(certificate, SaslOptionsFor(mechanism, "alice", "wonderland").MechanismName));

        await using (var producer = new KafkaProducer(Secure(new KafkaProducerOptions { BootstrapServers = proxy.BootstrapServers }, mechanism, "wonderland")))
        {
            for (var i = 0; i < Records; i++)
            {
                await producer.ProduceAsync(topic, (byte[]?)null, [(byte)i], cancellationToken: ct);
            }
        }

        await using (var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(proxy.BootstrapServers, o => Secure(o, mechanism, "wonderland"))))
        {
            consumer.Assign(ConsumerTestSupport.All(topic, 2, OffsetSpec.Earliest));
            var results = await ConsumerTestSupport.ReadAsync(consumer, Records, TimeSpan.FromSeconds(30), ct);
            Assert.Equal(Enumerable.Range(0, Records).Select(i => (byte)i).Order(), results.Select(r => r.Value![0]).Order());
        }

        Assert.True(proxy.BytesToBrokers > Records, "the records went through the proxy");
    }

    [Theory(Timeout = 30_000)]
    [InlineData(SaslMechanism.Plain)]
    [InlineData(SaslMechanism.ScramSha256)]
    [InlineData(SaslMechanism.ScramSha512)]
    public async Task A_wrong_password_fails_with_the_brokers_message_and_is_not_retried_in_a_tight_loop(SaslMechanism mechanism)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(cancellationToken: ct);
        using var certificate = _ca.IssueServerCertificate();
        await using var proxy = KafkaProxy.Start(broker.BootstrapServers, ProxyOptions(certificate, SaslOptions.NameOf(mechanism)));
        var options = Secure(new KafkaClientOptions { BootstrapServers = proxy.BootstrapServers, ReconnectBackoffMax = TimeSpan.FromSeconds(30) }, mechanism, "not-the-password");
        await using var cluster = new ClusterClient(options);

        var error = await Assert.ThrowsAsync<KafkaAuthenticationException>(() => cluster.Connections.GetAnyAsync(ct).AsTask());
        Assert.False(error.IsRetriable);
        Assert.Equal(SaslOptions.NameOf(mechanism), error.Mechanism);
        Assert.Contains("Authentication failed", error.Message, StringComparison.Ordinal); // the broker's own words
        Assert.DoesNotContain("not-the-password", error.ToString(), StringComparison.Ordinal);

        // Asking again at once does not reconnect: the broker is in its longest backoff.
        var again = await Assert.ThrowsAnyAsync<KafkaException>(() => cluster.Connections.GetAnyAsync(ct).AsTask());
        var wait = System.Text.RegularExpressions.Regex.Match(again.Message, "next connection attempt is in ([0-9]+) ms");
        Assert.True(wait.Success, again.Message);
        Assert.InRange(int.Parse(wait.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), 20_000, 30_000); // the longest backoff at once (±20% jitter)
        Assert.Equal(1, proxy.Connections);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_wrong_scram_server_signature_fails_the_connection()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(cancellationToken: ct);
        using var certificate = _ca.IssueServerCertificate();
        var proxyOptions = ProxyOptions(certificate, "SCRAM-SHA-256");
        proxyOptions.SendWrongScramServerSignature = true;
        await using var proxy = KafkaProxy.Start(broker.BootstrapServers, proxyOptions);
        await using var cluster = new ClusterClient(Secure(new KafkaClientOptions { BootstrapServers = proxy.BootstrapServers }, SaslMechanism.ScramSha256, "wonderland"));

        var error = await Assert.ThrowsAsync<KafkaAuthenticationException>(() => cluster.Connections.GetAnyAsync(ct).AsTask());
        Assert.Contains("server signature is wrong", error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_mechanism_the_broker_does_not_enable_fails_naming_the_ones_it_does()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(cancellationToken: ct);
        using var certificate = _ca.IssueServerCertificate();
        await using var proxy = KafkaProxy.Start(broker.BootstrapServers, ProxyOptions(certificate, "SCRAM-SHA-512"));
        await using var cluster = new ClusterClient(Secure(new KafkaClientOptions { BootstrapServers = proxy.BootstrapServers }, SaslMechanism.Plain, "wonderland"));

        var error = await Assert.ThrowsAsync<KafkaAuthenticationException>(() => cluster.Connections.GetAnyAsync(ct).AsTask());
        Assert.Contains("PLAIN is not enabled", error.Message, StringComparison.Ordinal);
        Assert.Contains("SCRAM-SHA-512", error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 30_000)]
    public async Task A_refused_oauthbearer_token_fails_and_a_plaintext_client_cannot_talk_to_a_tls_listener()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(cancellationToken: ct);
        using var certificate = _ca.IssueServerCertificate();
        var proxyOptions = ProxyOptions(certificate, "OAUTHBEARER");
        proxyOptions.OAuthBearerValidator = token => token == "good-token";
        await using var proxy = KafkaProxy.Start(broker.BootstrapServers, proxyOptions);
        var options = Secure(new KafkaClientOptions { BootstrapServers = proxy.BootstrapServers }, SaslMechanism.OAuthBearer, "wonderland");
        options.Sasl.OAuthBearerTokenProvider = _ => ValueTask.FromResult(new OAuthBearerToken("bad-token", DateTimeOffset.UtcNow.AddHours(1)));
        await using (var cluster = new ClusterClient(options))
        {
            var error = await Assert.ThrowsAsync<KafkaAuthenticationException>(() => cluster.Connections.GetAnyAsync(ct).AsTask());
            Assert.Contains("invalid_token", error.Message, StringComparison.Ordinal);
        }

        await using var plaintext = new ClusterClient(new KafkaClientOptions { BootstrapServers = proxy.BootstrapServers, SocketConnectionSetupTimeout = TimeSpan.FromSeconds(2) });
        await Assert.ThrowsAsync<KafkaConnectionException>(() => plaintext.Connections.GetAnyAsync(ct).AsTask());
    }

    [Fact(Timeout = 30_000)]
    public async Task Mutual_tls_through_the_proxy_needs_the_client_certificate()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(cancellationToken: ct);
        using var certificate = _ca.IssueServerCertificate();
        var proxyOptions = new KafkaProxyOptions { ServerCertificate = certificate, RequiredClientCa = _ca.Certificate };
        await using var proxy = KafkaProxy.Start(broker.BootstrapServers, proxyOptions);
        using var client = _ca.IssueClientCertificate();

        var withCertificate = new KafkaClientOptions { BootstrapServers = proxy.BootstrapServers, SecurityProtocol = SecurityProtocol.Ssl, Ssl = { CaPem = _ca.CertificatePem, CertificatePem = client.ExportCertificatePem(), KeyPem = client.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem() } };
        await using (var cluster = new ClusterClient(withCertificate))
        {
            var metadata = await cluster.Metadata.RefreshAsync(ct);
            Assert.NotEmpty(metadata.Brokers);
            Assert.All(metadata.Brokers.Values, b => Assert.Equal("localhost", b.Host)); // rewritten to the proxy
        }

        var without = new KafkaClientOptions { BootstrapServers = proxy.BootstrapServers, SecurityProtocol = SecurityProtocol.Ssl, Ssl = { CaPem = _ca.CertificatePem }, SocketConnectionSetupTimeout = TimeSpan.FromSeconds(3) };
        await using var refused = new ClusterClient(without);
        await Assert.ThrowsAnyAsync<KafkaException>(() => refused.Connections.GetAnyAsync(ct).AsTask());
    }

    [Fact(Timeout = 30_000)]
    public async Task Mutual_tls_through_the_proxy_accepts_a_client_certificate_from_an_intermediate_ca_sent_with_its_chain()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(cancellationToken: ct);
        using var certificate = _ca.IssueServerCertificate();
        await using var proxy = KafkaProxy.Start(broker.BootstrapServers, new KafkaProxyOptions { ServerCertificate = certificate, RequiredClientCa = _ca.Certificate });
        using var intermediate = TlsTransportTests.IssueIntermediate(_ca.Certificate, "CN=Messaging Test Intermediate");
        using var client = TlsTransportTests.IssueClient(intermediate, "CN=payments-service");

        // As a broker whose truststore holds the root only: the intermediate the client sends completes the chain.
        var options = new KafkaClientOptions
        {
            BootstrapServers = proxy.BootstrapServers,
            SecurityProtocol = SecurityProtocol.Ssl,
            Ssl =
            {
                CaPem = _ca.CertificatePem,
                CertificatePem = client.ExportCertificatePem() + "\n" + intermediate.ExportCertificatePem(),
                KeyPem = client.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem(),
            },
            SocketConnectionSetupTimeout = TimeSpan.FromSeconds(5),
        };
        await using var cluster = new ClusterClient(options);
        var metadata = await cluster.Metadata.RefreshAsync(ct);
        Assert.NotEmpty(metadata.Brokers);
    }

    internal static KafkaProxyOptions ProxyOptions(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate, string mechanism)
    {
        var options = new KafkaProxyOptions { ServerCertificate = certificate, OAuthBearerValidator = token => token == "good-token" };
        options.SaslMechanisms.Add(mechanism);
        options.Users["alice"] = "wonderland";
        return options;
    }

    internal static SaslOptions SaslOptionsFor(SaslMechanism mechanism, string user, string password) => new()
    {
        Mechanism = mechanism,
        Username = user,
        Password = password,
        OAuthBearerTokenProvider = _ => ValueTask.FromResult(new OAuthBearerToken("good-token", DateTimeOffset.UtcNow.AddHours(1))),
    };

    /// <summary>Sets <paramref name="options"/> to SASL_SSL through a proxy whose certificate <paramref name="ca"/> issued, as alice.</summary>
    internal static T Secure<T>(T options, TestCertificateAuthority ca, SaslMechanism mechanism, string password)
        where T : KafkaClientOptions
    {
        options.SecurityProtocol = SecurityProtocol.SaslSsl;
        options.Ssl = new SslOptions { CaPem = ca.CertificatePem };
        options.Sasl = SaslOptionsFor(mechanism, "alice", password);
        return options;
    }

    private T Secure<T>(T options, SaslMechanism mechanism, string password)
        where T : KafkaClientOptions => Secure(options, _ca, mechanism, password);
}
