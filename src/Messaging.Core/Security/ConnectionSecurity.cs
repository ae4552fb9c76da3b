using System.Security.Cryptography;
using Messaging.Connection;
using Messaging.Transport;

namespace Messaging.Security;

/// <summary>
/// What <see cref="SecurityProtocol"/> adds to a client's connections: a TLS transport factory around the configured
/// one (SSL, SASL_SSL) and a SASL authenticator (SASL_PLAINTEXT, SASL_SSL). Built once per client from its options;
/// disposing releases the certificates it loaded.
/// </summary>
internal sealed class ConnectionSecurity : IDisposable
{
    private readonly TlsCredentials? _credentials;

    private ConnectionSecurity(IKafkaTransportFactory transportFactory, IConnectionAuthenticator? authenticator, TlsCredentials? credentials)
    {
        TransportFactory = transportFactory;
        Authenticator = authenticator;
        _credentials = credentials;
    }

    /// <summary>The factory connections open their transport with: the configured one, wrapped in TLS when the protocol says so.</summary>
    public IKafkaTransportFactory TransportFactory { get; }

    /// <summary>The SASL authenticator, or null when the protocol has no SASL.</summary>
    public IConnectionAuthenticator? Authenticator { get; }

    /// <summary>Builds what <paramref name="protocol"/> asks for.</summary>
    /// <exception cref="ArgumentException">The TLS or SASL settings are incomplete or name certificates that do not load.</exception>
    public static ConnectionSecurity Create(SecurityProtocol protocol, SslOptions ssl, SaslOptions sasl, IKafkaTransportFactory transportFactory, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(ssl);
        ArgumentNullException.ThrowIfNull(sasl);
        Validate(protocol, ssl, sasl);
        var usesTls = protocol is SecurityProtocol.Ssl or SecurityProtocol.SaslSsl;
        var usesSasl = protocol is SecurityProtocol.SaslPlaintext or SecurityProtocol.SaslSsl;
        var credentials = usesTls ? TlsCredentials.Load(ssl) : null;
        var factory = credentials is null ? transportFactory : new TlsTransportFactory(transportFactory, ssl.Snapshot(), credentials);
        var authenticator = usesSasl ? new SaslAuthenticator(MechanismFor(sasl, time), time) : null;
        return new ConnectionSecurity(factory, authenticator, credentials);
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting the protocol uses.</summary>
    public static void Validate(SecurityProtocol protocol, SslOptions ssl, SaslOptions sasl)
    {
        if (!Enum.IsDefined(protocol))
        {
            throw new ArgumentException("SecurityProtocol " + protocol + " is not one of Plaintext, Ssl, SaslPlaintext, SaslSsl.", nameof(protocol));
        }

        if (ssl is null || sasl is null)
        {
            throw new ArgumentException("Ssl and Sasl options must not be null.", nameof(ssl));
        }

        if (protocol is SecurityProtocol.Ssl or SecurityProtocol.SaslSsl)
        {
            ssl.Validate();
        }

        if (protocol is SecurityProtocol.SaslPlaintext or SecurityProtocol.SaslSsl)
        {
            sasl.Validate();
        }
    }

    public void Dispose() => _credentials?.Dispose();

    private static ISaslMechanism MechanismFor(SaslOptions sasl, TimeProvider time) => sasl.CustomMechanism ?? sasl.Mechanism switch
    {
        SaslMechanism.Plain => new PlainMechanism(sasl.Username!, sasl.Password!),
        SaslMechanism.ScramSha256 => new ScramMechanism(HashAlgorithmName.SHA256, sasl.Username!, sasl.Password!),
        SaslMechanism.ScramSha512 => new ScramMechanism(HashAlgorithmName.SHA512, sasl.Username!, sasl.Password!),
        _ => new OAuthBearerMechanism(new OAuthBearerTokenCache(sasl.OAuthBearerTokenProvider!, time)),
    };
}
