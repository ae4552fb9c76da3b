using System.Security.Cryptography;

namespace Messaging.Security;

/// <summary>
/// SASL SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), as Kafka speaks them: client-first, server-first,
/// client-final with the proof, server-final with the server's signature, which is checked — a broker (or a man in
/// the middle) that does not know the salted password fails the connection.
/// </summary>
internal sealed class ScramMechanism : ISaslMechanism
{
    private readonly string _username;
    private readonly string _password;
    private readonly Func<string> _nonces;

    /// <param name="hash">SHA-256 or SHA-512.</param>
    /// <param name="username">The user.</param>
    /// <param name="password">The password (used as UTF-8; SASLprep is the identity for the printable ASCII Kafka users use).</param>
    /// <param name="nonces">Makes client nonces; the default draws 24 random bytes per exchange. Tests pass fixed ones.</param>
    public ScramMechanism(HashAlgorithmName hash, string username, string password, Func<string>? nonces = null)
    {
        if (hash != HashAlgorithmName.SHA256 && hash != HashAlgorithmName.SHA512)
        {
            throw new ArgumentOutOfRangeException(nameof(hash), hash, "SCRAM here is SHA-256 or SHA-512.");
        }

        Hash = hash;
        Name = hash == HashAlgorithmName.SHA256 ? "SCRAM-SHA-256" : "SCRAM-SHA-512";
        _username = username;
        _password = password;
        _nonces = nonces ?? NewNonce;
    }

    public string Name { get; }

    public HashAlgorithmName Hash { get; }

    public ISaslExchange CreateExchange(SaslExchangeContext context) => new ScramExchange(this, _username, _password, _nonces());

    public override string ToString() => Name + " (user " + _username + ")";

    private static string NewNonce() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));
}
