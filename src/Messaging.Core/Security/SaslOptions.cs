using Messaging.Security;

namespace Messaging;

/// <summary>
/// SASL settings (<c>sasl.*</c>), used when <see cref="KafkaClientOptions.SecurityProtocol"/> is
/// <see cref="SecurityProtocol.SaslPlaintext"/> or <see cref="SecurityProtocol.SaslSsl"/>. Plain settable properties,
/// bindable from <c>IConfiguration</c> (except the delegate and the custom mechanism). <see cref="ToString"/> never
/// shows the password.
/// </summary>
public sealed class SaslOptions
{
    /// <summary><c>sasl.mechanism</c>: the built-in mechanism to use. Default <see cref="SaslMechanism.Plain"/>. Ignored when <see cref="CustomMechanism"/> is set.</summary>
    public SaslMechanism Mechanism { get; set; } = SaslMechanism.Plain;

    /// <summary><c>sasl.username</c>: the user name for PLAIN and SCRAM.</summary>
    public string? Username { get; set; }

    /// <summary><c>sasl.password</c>: the password for PLAIN and SCRAM. Never logged, never in an exception or <see cref="ToString"/>.</summary>
    public string? Password { get; set; }

    /// <summary>
    /// For OAUTHBEARER: fetches a token (from an identity provider, typically). Called when a connection needs a token
    /// and the one it returned last has passed 80% of its lifetime; concurrent connections share one call. Its
    /// cancellation token fires when every connection waiting for the call has given up (their setup timeout passed);
    /// the next connection then calls it again.
    /// </summary>
    public Func<CancellationToken, ValueTask<OAuthBearerToken>>? OAuthBearerTokenProvider { get; set; }

    /// <summary>A mechanism other than the built-in ones (see <see cref="ISaslMechanism"/>); when set, <see cref="Mechanism"/>, <see cref="Username"/> and <see cref="Password"/> are not used.</summary>
    public ISaslMechanism? CustomMechanism { get; set; }

    /// <summary>The mechanism's name as sent to the broker, e.g. <c>SCRAM-SHA-256</c>.</summary>
    public string MechanismName => CustomMechanism?.Name ?? NameOf(Mechanism);

    /// <summary>Shows the mechanism and the user name; the password and the token never appear.</summary>
    public override string ToString() =>
        "SaslOptions { Mechanism = " + MechanismName + ", Username = " + (Username ?? "(none)") + ", Password = " + (Password is null ? "(none)" : "***") + " }";

    /// <summary>Kafka's name of a built-in mechanism.</summary>
    internal static string NameOf(SaslMechanism mechanism) => mechanism switch
    {
        SaslMechanism.Plain => "PLAIN",
        SaslMechanism.ScramSha256 => "SCRAM-SHA-256",
        SaslMechanism.ScramSha512 => "SCRAM-SHA-512",
        SaslMechanism.OAuthBearer => "OAUTHBEARER",
        _ => throw new ArgumentOutOfRangeException(nameof(mechanism), mechanism, "Unknown SASL mechanism."),
    };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first missing or invalid setting.</summary>
    internal void Validate()
    {
        if (CustomMechanism is not null)
        {
            return;
        }

        switch (Mechanism)
        {
            case SaslMechanism.Plain or SaslMechanism.ScramSha256 or SaslMechanism.ScramSha512:
                if (string.IsNullOrEmpty(Username) || Password is null)
                {
                    throw new ArgumentException("Sasl.Username (sasl.username) and Sasl.Password (sasl.password) are required for SASL " + MechanismName + ".", nameof(Username));
                }

                if (Username.Contains('\0', StringComparison.Ordinal) || Password.Contains('\0', StringComparison.Ordinal))
                {
                    throw new ArgumentException("Sasl.Username and Sasl.Password must not contain NUL characters.", nameof(Username));
                }

                break;
            case SaslMechanism.OAuthBearer:
                if (OAuthBearerTokenProvider is null)
                {
                    throw new ArgumentException("Sasl.OAuthBearerTokenProvider is required for SASL OAUTHBEARER.", nameof(OAuthBearerTokenProvider));
                }

                break;
            default:
                throw new ArgumentException("Sasl.Mechanism " + Mechanism + " is not a known mechanism.", nameof(Mechanism));
        }
    }
}
