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
    public OAuthBearerToken(string value, DateTimeOffset expiresAt, IReadOnlyDictionary<string, string>? extensions = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(value);
        Value = value;
        ExpiresAt = expiresAt;
        Extensions = extensions ?? new Dictionary<string, string>();
    }

    /// <summary>The compact token.</summary>
    public string Value { get; }

    /// <summary>When the token stops being valid.</summary>
    public DateTimeOffset ExpiresAt { get; }

    /// <summary>SASL extensions sent with the token.</summary>
    public IReadOnlyDictionary<string, string> Extensions { get; }

    /// <summary>Says when the token expires; never shows the token.</summary>
    public override string ToString() => "OAuthBearerToken (expires " + ExpiresAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture) + ", value redacted)";
}
