using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Messaging.Testing.Security;

/// <summary>
/// The broker's side of one SASL exchange, as Kafka answers it: PLAIN and SCRAM against the proxy's user table,
/// OAUTHBEARER through its validator. <see cref="Step"/> takes the client's bytes and returns the server's, or an
/// error message (Kafka's wording) that the proxy sends as SaslAuthenticate's SASL_AUTHENTICATION_FAILED.
/// </summary>
internal sealed class SaslServerSession(string mechanism, KafkaProxyOptions options)
{
    private const int Iterations = 4096;
    private int _state;
    private string? _scramUser;
    private string? _clientFirstBare;
    private string? _serverFirst;
    private string? _nonce;
    private byte[]? _salt;

    public bool IsComplete { get; private set; }

    /// <summary>The mechanism this exchange runs.</summary>
    public string Mechanism => mechanism;

    /// <summary>The user who authenticated (PLAIN and SCRAM), once complete; null for OAUTHBEARER, whose tokens the proxy does not read.</summary>
    public string? User { get; private set; }

    /// <summary>The next server message, or an error for a refused client.</summary>
    public (byte[] Response, string? Error) Step(ReadOnlySpan<byte> client) => mechanism switch
    {
        "PLAIN" => Plain(client),
        "SCRAM-SHA-256" => Scram(client, HashAlgorithmName.SHA256),
        "SCRAM-SHA-512" => Scram(client, HashAlgorithmName.SHA512),
        "OAUTHBEARER" => OAuthBearer(client),
        _ => ([], "Unsupported SASL mechanism " + mechanism),
    };

    private (byte[], string?) Plain(ReadOnlySpan<byte> client)
    {
        var parts = Encoding.UTF8.GetString(client).Split('\0');
        if (parts.Length != 3 || !options.Users.TryGetValue(parts[1], out var password) || password != parts[2])
        {
            return ([], "Authentication failed: Invalid username or password");
        }

        // As Kafka's PlainSaslServer: an authorization id, when the client gives one, must be the user itself — a
        // proxy that let alice authenticate as bob would pass a client that a broker refuses.
        if (parts[0].Length > 0 && parts[0] != parts[1])
        {
            return ([], "Authentication failed: Client requested an authorization id that is different from username");
        }

        IsComplete = true;
        User = parts[1];
        return ([], null);
    }

    private (byte[], string?) Scram(ReadOnlySpan<byte> client, HashAlgorithmName hash)
    {
        var text = Encoding.UTF8.GetString(client);
        if (_state == 0)
        {
            // n,,n=user,r=nonce
            var bare = text.StartsWith("n,,", StringComparison.Ordinal) ? text[3..] : null;
            var user = bare?.Split(',').FirstOrDefault(a => a.StartsWith("n=", StringComparison.Ordinal))?[2..].Replace("=2C", ",", StringComparison.Ordinal).Replace("=3D", "=", StringComparison.Ordinal);
            var clientNonce = bare?.Split(',').FirstOrDefault(a => a.StartsWith("r=", StringComparison.Ordinal))?[2..];
            if (bare is null || user is null || clientNonce is null)
            {
                return ([], "Authentication failed: Invalid SCRAM client first message");
            }

            _state = 1;
            _scramUser = user;
            _clientFirstBare = bare;
            _nonce = clientNonce + Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
            _salt = RandomNumberGenerator.GetBytes(16);
            _serverFirst = "r=" + _nonce + ",s=" + Convert.ToBase64String(_salt) + ",i=" + Iterations.ToString(CultureInfo.InvariantCulture);
            return (Encoding.UTF8.GetBytes(_serverFirst), null);
        }

        // c=biws,r=nonce,p=proof
        var proofAt = text.LastIndexOf(",p=", StringComparison.Ordinal);
        var invalid = "Authentication failed during authentication due to invalid credentials with SASL mechanism " + mechanism;
        if (_state != 1 || proofAt < 0 || !options.Users.TryGetValue(_scramUser!, out var password))
        {
            return ([], invalid);
        }

        var withoutProof = text[..proofAt];
        if (!withoutProof.Contains("r=" + _nonce, StringComparison.Ordinal))
        {
            return ([], invalid);
        }

        var size = hash == HashAlgorithmName.SHA256 ? 32 : 64;
        var salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), _salt!, Iterations, hash, size);
        var authMessage = Encoding.UTF8.GetBytes(_clientFirstBare + "," + _serverFirst + "," + withoutProof);
        var clientKey = CryptographicOperations.HmacData(hash, salted, "Client Key"u8);
        var storedKey = CryptographicOperations.HashData(hash, clientKey);
        var signature = CryptographicOperations.HmacData(hash, storedKey, authMessage);
        byte[] proof;
        try
        {
            proof = Convert.FromBase64String(text[(proofAt + 3)..]);
        }
        catch (FormatException)
        {
            return ([], invalid);
        }

        if (proof.Length != size)
        {
            return ([], invalid);
        }

        for (var i = 0; i < size; i++)
        {
            proof[i] ^= signature[i]; // the client key, if the proof is right
        }

        if (!CryptographicOperations.FixedTimeEquals(CryptographicOperations.HashData(hash, proof), storedKey))
        {
            return ([], invalid);
        }

        var serverKey = CryptographicOperations.HmacData(hash, salted, "Server Key"u8);
        var serverSignature = CryptographicOperations.HmacData(hash, serverKey, authMessage);
        if (options.SendWrongScramServerSignature)
        {
            serverSignature[0] ^= 0xFF;
        }

        _state = 2;
        IsComplete = true;
        User = _scramUser;
        return (Encoding.UTF8.GetBytes("v=" + Convert.ToBase64String(serverSignature)), null);
    }

    private (byte[], string?) OAuthBearer(ReadOnlySpan<byte> client)
    {
        if (_state == 1)
        {
            // The client's ^A after our error document: now the exchange fails with Kafka's message.
            return ([], "Authentication failed: invalid_token");
        }

        var text = Encoding.UTF8.GetString(client);
        var auth = text.Split('\u0001').FirstOrDefault(p => p.StartsWith("auth=Bearer ", StringComparison.Ordinal));
        var token = auth?["auth=Bearer ".Length..];
        if (token is not null && options.OAuthBearerValidator is { } validate && validate(token))
        {
            IsComplete = true;
            return ([], null);
        }

        _state = 1;
        return ("{\"status\":\"invalid_token\"}"u8.ToArray(), null);
    }
}
