namespace Messaging;

/// <summary><c>sasl.mechanism</c>: the built-in SASL mechanisms. Others plug in through <see cref="SaslOptions.CustomMechanism"/>.</summary>
public enum SaslMechanism
{
    /// <summary><c>PLAIN</c> (RFC 4616): user name and password, sent as they are: use it over TLS only.</summary>
    Plain = 0,

    /// <summary><c>SCRAM-SHA-256</c> (RFC 5802, RFC 7677): a salted challenge-response; the password never travels and the broker proves it knows it too.</summary>
    ScramSha256 = 1,

    /// <summary><c>SCRAM-SHA-512</c>: SCRAM with SHA-512.</summary>
    ScramSha512 = 2,

    /// <summary><c>OAUTHBEARER</c> (RFC 7628, KIP-255): a bearer token from <see cref="SaslOptions.OAuthBearerTokenProvider"/>.</summary>
    OAuthBearer = 3,
}
