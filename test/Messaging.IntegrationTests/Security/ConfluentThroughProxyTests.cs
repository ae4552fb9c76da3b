using Confluent.Kafka;
using Messaging.IntegrationTests.Consumer;
using Messaging.IntegrationTests.Support;
using Messaging.Testing.Brokers;
using Messaging.Testing.Security;

namespace Messaging.IntegrationTests.Security;

/// <summary>
/// Interop: Confluent.Kafka (librdkafka) through the same proxy, over SASL_SSL with SCRAM-SHA-256 and PLAIN, so the
/// proxy's TLS and SASL are what a reference client accepts, and our consumer reads what it wrote.
/// </summary>
public sealed class ConfluentThroughProxyTests(TestBrokerFixture fixture) : IDisposable
{
    private readonly TestCertificateAuthority _ca = new();

    public void Dispose() => _ca.Dispose();

    [Theory(Timeout = 90_000)]
    [InlineData("SCRAM-SHA-256", SaslMechanism.ScramSha256, Confluent.Kafka.SaslMechanism.ScramSha256)]
    [InlineData("PLAIN", SaslMechanism.Plain, Confluent.Kafka.SaslMechanism.Plain)]
    public async Task Confluent_produces_over_sasl_ssl_through_the_proxy_and_our_consumer_reads_it(string name, SaslMechanism ours, Confluent.Kafka.SaslMechanism theirs)
    {
        const int Records = 10;
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("interop-sasl");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        using var certificate = _ca.IssueServerCertificate();
        await using var proxy = KafkaProxy.Start(broker.BootstrapServers, SaslThroughProxyTests.ProxyOptions(certificate, name));

        using (var producer = ConfluentClients.Producer(proxy.BootstrapServers, c =>
        {
            c.SecurityProtocol = Confluent.Kafka.SecurityProtocol.SaslSsl;
            c.SaslMechanism = theirs;
            c.SaslUsername = "alice";
            c.SaslPassword = "wonderland";
            c.SslCaPem = _ca.CertificatePem;
        }))
        {
            for (var i = 0; i < Records; i++)
            {
                await ConfluentClients.ProduceOneAsync(producer, topic, 0, "v" + i, ct);
            }
        }

        var options = ConsumerTestSupport.Options(proxy.BootstrapServers, o =>
        {
            o.SecurityProtocol = Messaging.SecurityProtocol.SaslSsl;
            o.Ssl = new SslOptions { CaPem = _ca.CertificatePem };
            o.Sasl = SaslThroughProxyTests.SaslOptionsFor(ours, "alice", "wonderland");
        });
        await using var consumer = ConsumerTestSupport.Bytes(options);
        consumer.Assign(ConsumerTestSupport.All(topic, 1, OffsetSpec.Earliest));
        var results = await ConsumerTestSupport.ReadAsync(consumer, Records, TimeSpan.FromSeconds(30), ct);
        Assert.Equal(Enumerable.Range(0, Records).Select(i => "v" + i), results.Select(r => System.Text.Encoding.UTF8.GetString(r.Value!)));
    }

    [Fact(Timeout = 60_000)]
    public async Task Confluent_with_a_wrong_password_is_refused_by_the_proxy()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(cancellationToken: ct);
        using var certificate = _ca.IssueServerCertificate();
        await using var proxy = KafkaProxy.Start(broker.BootstrapServers, SaslThroughProxyTests.ProxyOptions(certificate, "SCRAM-SHA-512"));
        var refused = new TaskCompletionSource<Error>(TaskCreationOptions.RunContinuationsAsynchronously);
        var config = new AdminClientConfig
        {
            BootstrapServers = proxy.BootstrapServers,
            SecurityProtocol = Confluent.Kafka.SecurityProtocol.SaslSsl,
            SaslMechanism = Confluent.Kafka.SaslMechanism.ScramSha512,
            SaslUsername = "alice",
            SaslPassword = "wrong",
            SslCaPem = _ca.CertificatePem,
        };
        using var admin = new AdminClientBuilder(config).SetErrorHandler((_, e) =>
        {
            if (e.Code == Confluent.Kafka.ErrorCode.Local_Authentication)
            {
                refused.TrySetResult(e);
            }
        }).Build();
        // The metadata call only makes librdkafka connect; it fails once its own timeout passes. It must have
        // returned before the client is disposed: disposing a handle while a call is inside librdkafka frees memory
        // that call still reads (a segmentation fault in rd_kafka_metadata, seen in CI).
        var metadata = Task.Run(() => admin.GetMetadata(TimeSpan.FromSeconds(5)), CancellationToken.None);
        try
        {
            var error = await refused.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
            Assert.Contains("Authentication failed", error.Reason, StringComparison.Ordinal);
        }
        finally
        {
            await metadata.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        }
    }
}
