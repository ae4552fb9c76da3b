using System.Security.Cryptography.X509Certificates;
using Messaging.Testing.Security;

namespace Messaging.Perf;

/// <summary>
/// <c>--security ssl|sasl_ssl</c>: both clients reach the embedded broker through the test proxy (<see cref="KafkaProxy"/>),
/// which terminates TLS with a certificate from an in-memory CA and, for <c>sasl_ssl</c>, authenticates SCRAM-SHA-256.
/// The broker behind it stays plaintext, so what a run adds is the client's TLS (and SASL at connect) — plus the
/// proxy's relaying, the same for both clients. Confluent.Kafka reads the CA from a PEM file (<c>ssl.ca.location</c>),
/// written to a temporary file that disposing deletes.
/// </summary>
internal sealed class PerfSecurity : IAsyncDisposable
{
    private const string User = "perf";
    private const string Password = "perf-secret";

    private readonly TestCertificateAuthority _ca;
    private readonly X509Certificate2 _certificate;
    private readonly KafkaProxy _proxy;
    private readonly string _caFile;
    private readonly bool _sasl;

    private PerfSecurity(TestCertificateAuthority ca, X509Certificate2 certificate, KafkaProxy proxy, string caFile, bool sasl)
    {
        _ca = ca;
        _certificate = certificate;
        _proxy = proxy;
        _caFile = caFile;
        _sasl = sasl;
    }

    /// <summary>Where the clients connect: the proxy's listeners.</summary>
    public string BootstrapServers => _proxy.BootstrapServers;

    /// <summary>For the run's header.</summary>
    public string Description => _sasl
        ? "security=sasl_ssl (TLS and SASL SCRAM-SHA-256, terminated by the test proxy in front of the embedded broker)"
        : "security=ssl (TLS terminated by the test proxy in front of the embedded broker)";

    /// <summary>
    /// Reads <c>--security</c> (plaintext, the default, gives null) and starts the proxy in front of
    /// <paramref name="broker"/>; only the embedded broker, whose listeners are plaintext, can be put behind it.
    /// </summary>
    public static PerfSecurity? Start(string security, PerfBroker broker, bool embedded)
    {
        if (security == "plaintext")
        {
            return null;
        }

        if (security is not ("ssl" or "sasl_ssl"))
        {
            throw new ArgumentException("--security is plaintext|ssl|sasl_ssl.");
        }

        if (!embedded)
        {
            throw new ArgumentException("--security ssl|sasl_ssl puts the test proxy in front of the embedded broker; it cannot be combined with --bootstrap.");
        }

        var ca = new TestCertificateAuthority("Messaging Perf CA");
        var certificate = ca.IssueServerCertificate();
        var options = new KafkaProxyOptions { ServerCertificate = certificate };
        var sasl = security == "sasl_ssl";
        if (sasl)
        {
            options.SaslMechanisms.Add("SCRAM-SHA-256");
            options.Users[User] = Password;
        }

        var caFile = Path.Combine(Path.GetTempPath(), "messaging-perf-ca-" + Guid.NewGuid().ToString("N") + ".pem");
        File.WriteAllText(caFile, ca.CertificatePem);
        return new PerfSecurity(ca, certificate, KafkaProxy.Start(broker.BootstrapServers, options), caFile, sasl);
    }

    /// <summary>Sets our client's options to the run's protocol, trusting the proxy's CA.</summary>
    public void Apply(KafkaClientOptions options)
    {
        options.SecurityProtocol = _sasl ? SecurityProtocol.SaslSsl : SecurityProtocol.Ssl;
        options.Ssl = new SslOptions { CaPem = _ca.CertificatePem };
        if (_sasl)
        {
            options.Sasl = new SaslOptions { Mechanism = SaslMechanism.ScramSha256, Username = User, Password = Password };
        }
    }

    /// <summary>Sets Confluent's configuration to the same, with the CA from the PEM file.</summary>
    public void Apply(Confluent.Kafka.ClientConfig config)
    {
        config.SecurityProtocol = _sasl ? Confluent.Kafka.SecurityProtocol.SaslSsl : Confluent.Kafka.SecurityProtocol.Ssl;
        config.SslCaLocation = _caFile;
        if (_sasl)
        {
            config.SaslMechanism = Confluent.Kafka.SaslMechanism.ScramSha256;
            config.SaslUsername = User;
            config.SaslPassword = Password;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _proxy.DisposeAsync().ConfigureAwait(false);
        _certificate.Dispose();
        _ca.Dispose();
        File.Delete(_caFile);
    }
}
