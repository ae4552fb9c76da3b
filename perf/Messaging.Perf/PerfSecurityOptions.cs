namespace Messaging.Perf;

/// <summary>
/// The <c>--security</c> options of <c>produce</c> and <c>consume</c>: the protocol, and for a real cluster
/// (<c>--bootstrap</c>) where its secure listener is and how to authenticate there.
/// </summary>
/// <param name="Protocol">plaintext, ssl or sasl_ssl.</param>
/// <param name="SecureBootstrap"><c>--secure-bootstrap</c>: the cluster's SSL/SASL_SSL listener (topics are still created and checked over <c>--bootstrap</c>).</param>
/// <param name="CaLocation"><c>--ssl-ca</c>: the PEM file of the CA that issued the cluster's certificate.</param>
/// <param name="Mechanism"><c>--sasl-mechanism</c>: SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN.</param>
/// <param name="Username"><c>--sasl-username</c>, else <c>MESSAGING_SASL_USERNAME</c>.</param>
/// <param name="Password"><c>--sasl-password</c>, else <c>MESSAGING_SASL_PASSWORD</c> (an environment variable keeps it out of the shell history).</param>
internal sealed record PerfSecurityOptions(string Protocol, string? SecureBootstrap, string? CaLocation, string Mechanism, string? Username, string? Password)
{
    /// <summary>The options' help text.</summary>
    public const string Usage =
        "--security plaintext|ssl|sasl_ssl (plaintext; on the embedded broker through the test proxy's TLS and SCRAM; with --bootstrap: " +
        "--secure-bootstrap HOST:PORT --ssl-ca PEM --sasl-mechanism SCRAM-SHA-256|SCRAM-SHA-512|PLAIN (SCRAM-SHA-512) --sasl-username U --sasl-password P, " +
        "or MESSAGING_SASL_USERNAME/MESSAGING_SASL_PASSWORD)";

    /// <summary>Reads the options (before <see cref="CommandLine.EnsureAllRead"/>).</summary>
    public static PerfSecurityOptions Read(CommandLine options) => new(
        options.String("security", "plaintext"),
        options.OptionalString("secure-bootstrap"),
        options.OptionalString("ssl-ca"),
        options.String("sasl-mechanism", "SCRAM-SHA-512"),
        options.OptionalString("sasl-username") ?? Environment.GetEnvironmentVariable("MESSAGING_SASL_USERNAME"),
        options.OptionalString("sasl-password") ?? Environment.GetEnvironmentVariable("MESSAGING_SASL_PASSWORD"));

    /// <summary>The mechanism as our options name it.</summary>
    public SaslMechanism SaslMechanism => Mechanism switch
    {
        "SCRAM-SHA-256" => SaslMechanism.ScramSha256,
        "SCRAM-SHA-512" => SaslMechanism.ScramSha512,
        "PLAIN" => SaslMechanism.Plain,
        _ => throw new ArgumentException("--sasl-mechanism is SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN."),
    };

    /// <summary>Redacted: the password never reaches a log.</summary>
    public override string ToString() => "security=" + Protocol + (Protocol == "sasl_ssl" ? " mechanism=" + Mechanism + " user=" + Username : "");
}
