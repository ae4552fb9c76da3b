using System.Security.Cryptography.X509Certificates;

namespace Messaging.Testing.Security;

/// <summary>What a <see cref="KafkaProxy"/> asks of its clients: TLS, SASL, both or neither.</summary>
public sealed class KafkaProxyOptions
{
    /// <summary>When set, clients must speak TLS to the proxy, which presents this certificate (with its private key); see <see cref="TestCertificateAuthority"/>.</summary>
    public X509Certificate2? ServerCertificate { get; set; }

    /// <summary>When set (with <see cref="ServerCertificate"/>), clients must present a certificate issued by this CA (mTLS).</summary>
    public X509Certificate2? RequiredClientCa { get; set; }

    /// <summary>The SASL mechanisms clients must authenticate with (e.g. <c>PLAIN</c>, <c>SCRAM-SHA-256</c>); empty for no SASL.</summary>
    public IList<string> SaslMechanisms { get; } = [];

    /// <summary>Users and passwords for PLAIN and SCRAM.</summary>
    public IDictionary<string, string> Users { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Decides whether an OAUTHBEARER token is valid; null refuses every token.</summary>
    public Func<string, bool>? OAuthBearerValidator { get; set; }

    /// <summary>The SASL session lifetime announced to clients (KIP-368); zero for none.</summary>
    public TimeSpan SessionLifetime { get; set; }

    /// <summary>Makes the SCRAM server send a wrong server signature, as a broker that does not know the password would.</summary>
    public bool SendWrongScramServerSignature { get; set; }
}
