namespace Messaging;

/// <summary>
/// A bearer token for SASL <c>OAUTHBEARER</c>, as a token provider returns it: the token itself and when it expires.
/// The client asks the provider again before the token expires (at 80% of its lifetime), so new connections always
/// present a valid token. <see cref="ToString"/> never shows the token.
/// </summary>
public sealed class OAuthBearerToken
{
    /// <summary>Creates a token.</summary>
    /// <param name="value">The compact token (for example a JWT), sent as <c>auth=Bearer value</c>.</param>
    /// <param name="expiresAt">When the token stops being valid.</param>
    /// <param name="extensions">SASL extensions (RFC 7628 <c>key=value</c> pairs) some brokers ask for, e.g. a logical cluster id; null for none.</param>
    /// <exception cref="ArgumentException">
    /// The token is not printable ASCII without spaces (RFC 6750), or an extension is not what Kafka accepts (RFC 7628):
    /// a key of letters other than <c>auth</c>, a value of printable ASCII, spaces and tabs or line breaks. Either would
    /// break the SASL message apart (its separator is a control character) or be refused by the broker. The message never
    /// shows the token.
    /// </exception>
    public OAuthBearerToken(string value, DateTimeOffset expiresAt, IReadOnlyDictionary<string, string>? extensions = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(value);
        if (value.AsSpan().ContainsAnyExceptInRange('\x21', '\x7E'))
        {
            throw new ArgumentException("The OAUTHBEARER token must be printable ASCII without spaces.", nameof(value));
        }

        Value = value;
        ExpiresAt = expiresAt;

        // Copied: the message is built from these on every connection, so a later change to the caller's dictionary
        // must not reach it unchecked.
        var copy = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, extension) in extensions ?? new Dictionary<string, string>())
        {
            if (key is null || key.Length == 0 || !IsAsciiLetters(key) || key == "auth")
            {
                throw new ArgumentException("SASL extension name '" + key + "' is invalid: letters only, and not 'auth'.", nameof(extensions));
            }

            if (string.IsNullOrEmpty(extension) || !IsExtensionValue(extension))
            {
                throw new ArgumentException("The value of SASL extension '" + key + "' is invalid: printable ASCII, spaces, tabs and line breaks, at least one character.", nameof(extensions));
            }

            copy[key] = extension;
        }

        Extensions = copy;
    }

    /// <summary>The compact token.</summary>
    public string Value { get; }

    /// <summary>When the token stops being valid.</summary>
    public DateTimeOffset ExpiresAt { get; }

    /// <summary>SASL extensions sent with the token.</summary>
    public IReadOnlyDictionary<string, string> Extensions { get; }

    private static bool IsAsciiLetters(string text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiLetter(c))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsExtensionValue(string text)
    {
        foreach (var c in text)
        {
            if (c is not ((>= '\x21' and <= '\x7E') or ' ' or '\t' or '\r' or '\n'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Says when the token expires; never shows the token.</summary>
    public override string ToString() => "OAuthBearerToken (expires " + ExpiresAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture) + ", value redacted)";
}
