using Messaging.IntegrationTests.Consumer;
using Messaging.IntegrationTests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.IntegrationTests.Security;

/// <summary>
/// The client over SASL_SSL against a real Kafka (docker/docker-compose.sasl-ssl.yml), with each mechanism the broker
/// enables. Skipped unless the environment names the listener and the credentials (docker/README.md shows how).
/// </summary>
public sealed class ExternalSaslSslTests
{
    /// <summary><c>host:port</c> of the broker's SASL_SSL listener.</summary>
    public const string BootstrapVariable = "MESSAGING_SASL_SSL_BOOTSTRAP_SERVERS";

    /// <summary>The PEM file of the CA that issued the broker's certificate.</summary>
    public const string CaLocationVariable = "MESSAGING_SSL_CA_LOCATION";

    public const string UsernameVariable = "MESSAGING_SASL_USERNAME";

    public const string PasswordVariable = "MESSAGING_SASL_PASSWORD";

    [Theory(Timeout = 120_000)]
    [InlineData(SaslMechanism.ScramSha256)]
    [InlineData(SaslMechanism.ScramSha512)]
    [InlineData(SaslMechanism.Plain)]
    public async Task Producer_and_consumer_work_over_sasl_ssl_against_a_real_broker(SaslMechanism mechanism)
    {
        const int Records = 50;
        var bootstrap = Environment.GetEnvironmentVariable(BootstrapVariable);
        var caLocation = Environment.GetEnvironmentVariable(CaLocationVariable);
        var username = Environment.GetEnvironmentVariable(UsernameVariable);
        var password = Environment.GetEnvironmentVariable(PasswordVariable);
        Assert.SkipWhen(
            string.IsNullOrEmpty(bootstrap) || string.IsNullOrEmpty(caLocation) || string.IsNullOrEmpty(username) || string.IsNullOrEmpty(password),
            $"Needs a SASL_SSL broker: set {BootstrapVariable}, {CaLocationVariable}, {UsernameVariable} and {PasswordVariable} (see docker/README.md).");

        T Secure<T>(T options)
            where T : KafkaClientOptions
        {
            options.BootstrapServers = bootstrap!;
            options.SecurityProtocol = SecurityProtocol.SaslSsl;
            options.Ssl = new SslOptions { CaLocation = caLocation };
            options.Sasl = new SaslOptions { Mechanism = mechanism, Username = username, Password = password };
            return options;
        }

        var ct = TestContext.Current.CancellationToken;
        var topic = TestBrokerFixture.UniqueTopicName("sasl-ssl-" + mechanism.ToString().ToLowerInvariant());
        await using (var admin = new KafkaAdminClient(Secure(new KafkaAdminOptions())))
        {
            await admin.CreateTopicsAsync([new NewTopic(topic, 1, 1)], cancellationToken: ct);
        }

        await using (var producer = new KafkaProducer(Secure(new KafkaProducerOptions())))
        {
            for (var i = 0; i < Records; i++)
            {
                await producer.ProduceAsync(topic, (byte[]?)null, SequencedPayload.Create(i, 100), cancellationToken: ct);
            }
        }

        await using var consumer = ConsumerTestSupport.Bytes(Secure(ConsumerTestSupport.Options("-")));
        consumer.Assign(ConsumerTestSupport.All(topic, 1, OffsetSpec.Earliest));
        var results = await ConsumerTestSupport.ReadAsync(consumer, Records, TimeSpan.FromSeconds(60), ct);
        Assert.Equal(Enumerable.Range(0, Records), results.Select(r => SequencedPayload.Read(r.Value!)));
    }
}
