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
    private const string ProxyUser = "perf";
    private const string ProxyPassword = "perf-secret";

    private readonly KafkaProxy? _proxy;
    private readonly TestCertificateAuthority? _ca;
    private readonly X509Certificate2? _certificate;
    private readonly string _caFile;
    private readonly bool _sasl;
    private readonly SaslMechanism _mechanism;
    private readonly string _user;
    private readonly string _password;

    private PerfSecurity(string bootstrapServers, string description, string caFile, bool sasl, SaslMechanism mechanism, string user, string password,
        KafkaProxy? proxy = null, TestCertificateAuthority? ca = null, X509Certificate2? certificate = null)
    {
        BootstrapServers = bootstrapServers;
        Description = description;
        _caFile = caFile;
        _sasl = sasl;
        _mechanism = mechanism;
        _user = user;
        _password = password;
        _proxy = proxy;
        _ca = ca;
        _certificate = certificate;
    }

    /// <summary>Where the clients connect: the proxy's listeners, or the cluster's secure listener.</summary>
    public string BootstrapServers { get; }

    /// <summary>For the run's header.</summary>
    public string Description { get; }

    /// <summary>
    /// Starts what <paramref name="options"/> ask for (plaintext, the default, gives null): on the embedded broker, the
    /// proxy in front of it; on a real cluster (<paramref name="embedded"/> false), nothing — the clients go to its
    /// secure listener.
    /// </summary>
    public static PerfSecurity? Start(PerfSecurityOptions options, PerfBroker broker, bool embedded)
    {
        if (options.Protocol == "plaintext")
        {
            return null;
        }

        if (options.Protocol is not ("ssl" or "sasl_ssl"))
        {
            throw new ArgumentException("--security is plaintext|ssl|sasl_ssl.");
        }

        var sasl = options.Protocol == "sasl_ssl";
        if (!embedded)
        {
            if (options.SecureBootstrap is null || options.CaLocation is null || (sasl && (options.Username is null || options.Password is null)))
            {
                throw new ArgumentException("--security with --bootstrap needs --secure-bootstrap and --ssl-ca, and for sasl_ssl a user and password (--sasl-username/--sasl-password or MESSAGING_SASL_USERNAME/MESSAGING_SASL_PASSWORD).");
            }

            return new PerfSecurity(options.SecureBootstrap, options + " via " + options.SecureBootstrap + " (CA " + options.CaLocation + ")", options.CaLocation, sasl,
                sasl ? options.SaslMechanism : default, options.Username ?? "", options.Password ?? "");
        }

        var ca = new TestCertificateAuthority("Messaging Perf CA");
        var certificate = ca.IssueServerCertificate();
        var proxyOptions = new KafkaProxyOptions { ServerCertificate = certificate };
        if (sasl)
        {
            proxyOptions.SaslMechanisms.Add("SCRAM-SHA-256");
            proxyOptions.Users[ProxyUser] = ProxyPassword;
        }

        // Confluent.Kafka reads its CA from a file; this one is deleted when the run ends.
        var caFile = Path.Combine(Path.GetTempPath(), "messaging-perf-ca-" + Guid.NewGuid().ToString("N") + ".pem");
        File.WriteAllText(caFile, ca.CertificatePem);
        var description = sasl
            ? "security=sasl_ssl (TLS and SASL SCRAM-SHA-256, terminated by the test proxy in front of the embedded broker)"
            : "security=ssl (TLS terminated by the test proxy in front of the embedded broker)";
        var proxy = KafkaProxy.Start(broker.BootstrapServers, proxyOptions);
        return new PerfSecurity(proxy.BootstrapServers, description, caFile, sasl, SaslMechanism.ScramSha256, ProxyUser, ProxyPassword, proxy, ca, certificate);
    }

    /// <summary>Sets our client's options to the run's protocol and CA.</summary>
    public void Apply(KafkaClientOptions options)
    {
        options.SecurityProtocol = _sasl ? SecurityProtocol.SaslSsl : SecurityProtocol.Ssl;
        options.Ssl = new SslOptions { CaLocation = _caFile };
        if (_sasl)
        {
            options.Sasl = new SaslOptions { Mechanism = _mechanism, Username = _user, Password = _password };
        }
    }

    /// <summary>Sets Confluent's configuration to the same (<c>ssl.ca.location</c> from the same PEM file).</summary>
    public void Apply(Confluent.Kafka.ClientConfig config)
    {
        config.SecurityProtocol = _sasl ? Confluent.Kafka.SecurityProtocol.SaslSsl : Confluent.Kafka.SecurityProtocol.Ssl;
        config.SslCaLocation = _caFile;
        if (_sasl)
        {
            config.SaslMechanism = _mechanism switch
            {
                SaslMechanism.ScramSha256 => Confluent.Kafka.SaslMechanism.ScramSha256,
                SaslMechanism.ScramSha512 => Confluent.Kafka.SaslMechanism.ScramSha512,
                _ => Confluent.Kafka.SaslMechanism.Plain,
            };
            config.SaslUsername = _user;
            config.SaslPassword = _password;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_proxy is null)
        {
            return; // a real cluster's CA file is the user's
        }

        await _proxy.DisposeAsync().ConfigureAwait(false);
        _certificate?.Dispose();
        _ca?.Dispose();
        File.Delete(_caFile);
    }
}
