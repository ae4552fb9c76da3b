using System.Globalization;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Text;

namespace Messaging.Security;

/// <summary>One SCRAM conversation (RFC 5802 §3): the client's two messages and the check of the server's two.</summary>
internal sealed class ScramExchange(ScramMechanism mechanism, string username, string password, string clientNonce) : ISaslExchange
{
    /// <summary>RFC 7677 asks for at least 4096 iterations; a server offering fewer is weakening the hash.</summary>
    internal const int MinIterations = 4096;

    /// <summary>More would let a hostile server stall the connect path in PBKDF2; Kafka's own limit is 16384.</summary>
    internal const int MaxIterations = 1_000_000;

    private const string Gs2Header = "n,,";
    private string? _clientFirstBare;
    private byte[]? _expectedServerSignature;
    private int _step;

    public ValueTask<ReadOnlyMemory<byte>> StartAsync(CancellationToken cancellationToken)
    {
        _clientFirstBare = "n=" + EscapeUsername(username) + ",r=" + clientNonce;
        _step = 1;
        return new ValueTask<ReadOnlyMemory<byte>>(Encoding.UTF8.GetBytes(Gs2Header + _clientFirstBare));
    }

    public ValueTask<ReadOnlyMemory<byte>?> ContinueAsync(ReadOnlyMemory<byte> serverMessage, CancellationToken cancellationToken)
    {
        switch (_step)
        {
            case 1:
                _step = 2;
                return new((ReadOnlyMemory<byte>?)ClientFinal(Text(serverMessage)));
            case 2:
                _step = 3;
                VerifyServerFinal(Text(serverMessage));
                return new((ReadOnlyMemory<byte>?)null);
            default:
                throw new AuthenticationException("The broker sent a SCRAM message after the exchange ended.");
        }
    }

    public void Dispose()
    {
        if (_expectedServerSignature is not null)
        {
            CryptographicOperations.ZeroMemory(_expectedServerSignature);
        }
    }

    /// <summary>RFC 5802 §5.1: ',' and '=' in a user name are escaped.</summary>
    internal static string EscapeUsername(string username) => username.Replace("=", "=3D", StringComparison.Ordinal).Replace(",", "=2C", StringComparison.Ordinal);

    private static string Text(ReadOnlyMemory<byte> message)
    {
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(message.Span);
        }
        catch (DecoderFallbackException ex)
        {
            throw new AuthenticationException("The broker's SCRAM message is not UTF-8.", ex);
        }
    }

    private byte[] ClientFinal(string serverFirst)
    {
        string? nonce = null, salt = null, iterations = null;
        foreach (var attribute in serverFirst.Split(','))
        {
            if (attribute.Length < 2 || attribute[1] != '=')
            {
                throw new AuthenticationException("The broker's SCRAM server-first message is malformed.");
            }

            switch (attribute[0])
            {
                case 'r': nonce = attribute[2..]; break;
                case 's': salt = attribute[2..]; break;
                case 'i': iterations = attribute[2..]; break;
                case 'm': throw new AuthenticationException("The broker's SCRAM server-first message asks for an extension this client does not know.");
                case 'e': throw new AuthenticationException("The broker refused the SCRAM exchange: " + attribute[2..]);
                default: break;
            }
        }

        if (nonce is null || salt is null || iterations is null)
        {
            throw new AuthenticationException("The broker's SCRAM server-first message lacks the nonce, the salt or the iteration count.");
        }

        if (!nonce.StartsWith(clientNonce, StringComparison.Ordinal) || nonce.Length == clientNonce.Length)
        {
            throw new AuthenticationException("The broker's SCRAM nonce does not extend the client's: the reply is not to this exchange.");
        }

        if (!int.TryParse(iterations, NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count is < MinIterations or > MaxIterations)
        {
            throw new AuthenticationException("The broker's SCRAM iteration count is " + iterations + "; this client accepts " + MinIterations.ToString(CultureInfo.InvariantCulture) + " to " + MaxIterations.ToString(CultureInfo.InvariantCulture) + ".");
        }

        byte[] saltBytes;
        try
        {
            saltBytes = Convert.FromBase64String(salt);
        }
        catch (FormatException ex)
        {
            throw new AuthenticationException("The broker's SCRAM salt is not base64.", ex);
        }

        var hash = mechanism.Hash;
        var size = hash == HashAlgorithmName.SHA256 ? 32 : 64;
        var clientFinalWithoutProof = "c=" + Convert.ToBase64String(Encoding.ASCII.GetBytes(Gs2Header)) + ",r=" + nonce;
        var authMessage = Encoding.UTF8.GetBytes(_clientFirstBare + "," + serverFirst + "," + clientFinalWithoutProof);

        var passwordBytes = Encoding.UTF8.GetBytes(password);
        var salted = Rfc2898DeriveBytes.Pbkdf2(passwordBytes, saltBytes, count, hash, size);
        CryptographicOperations.ZeroMemory(passwordBytes);
        var clientKey = CryptographicOperations.HmacData(hash, salted, "Client Key"u8);
        var storedKey = CryptographicOperations.HashData(hash, clientKey);
        var clientSignature = CryptographicOperations.HmacData(hash, storedKey, authMessage);
        for (var i = 0; i < clientKey.Length; i++)
        {
            clientKey[i] ^= clientSignature[i]; // now the proof
        }

        var serverKey = CryptographicOperations.HmacData(hash, salted, "Server Key"u8);
        _expectedServerSignature = CryptographicOperations.HmacData(hash, serverKey, authMessage);
        var final = Encoding.UTF8.GetBytes(clientFinalWithoutProof + ",p=" + Convert.ToBase64String(clientKey));
        CryptographicOperations.ZeroMemory(salted);
        CryptographicOperations.ZeroMemory(clientKey);
        CryptographicOperations.ZeroMemory(serverKey);
        return final;
    }

    private void VerifyServerFinal(string serverFinal)
    {
        if (serverFinal.StartsWith("e=", StringComparison.Ordinal))
        {
            throw new AuthenticationException("The broker refused the SCRAM proof: " + serverFinal[2..]);
        }

        if (!serverFinal.StartsWith("v=", StringComparison.Ordinal))
        {
            throw new AuthenticationException("The broker's SCRAM server-final message carries no signature.");
        }

        var end = serverFinal.IndexOf(',', StringComparison.Ordinal);
        byte[] signature;
        try
        {
            signature = Convert.FromBase64String(end < 0 ? serverFinal[2..] : serverFinal[2..end]);
        }
        catch (FormatException ex)
        {
            throw new AuthenticationException("The broker's SCRAM server signature is not base64.", ex);
        }

        if (!CryptographicOperations.FixedTimeEquals(signature, _expectedServerSignature))
        {
            throw new AuthenticationException("The broker's SCRAM server signature is wrong: it does not know this user's salted password (a wrong SCRAM credential on the broker, or someone else answering).");
        }
    }
}
