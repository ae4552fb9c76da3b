namespace Messaging;

/// <summary>
/// The broker refused the client's credentials (SASL), or the TLS handshake failed (the broker's certificate was not
/// trusted, its name did not match, or the broker refused the client's certificate). Not retriable: trying again
/// with the same credentials or certificates fails the same way, so the client reconnects to that broker only after
/// its longest reconnect backoff. The message says which step failed and, for SASL, what the broker said; it never
/// contains a credential.
/// </summary>
public sealed class KafkaAuthenticationException : KafkaException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed, with the broker's own message when it sent one.</param>
    /// <param name="broker">The broker, e.g. <c>broker 1 (127.0.0.1:9092)</c>.</param>
    /// <param name="mechanism">The step that failed: <c>TLS</c> or a SASL mechanism name such as <c>SCRAM-SHA-256</c>.</param>
    /// <param name="innerException">The underlying failure, if any.</param>
    public KafkaAuthenticationException(string message, string broker, string mechanism, Exception? innerException = null)
        : base(message, isRetriable: false, innerException)
    {
        Broker = broker;
        Mechanism = mechanism;
    }

    /// <summary>The broker, e.g. <c>broker 1 (127.0.0.1:9092)</c>.</summary>
    public string Broker { get; }

    /// <summary><c>TLS</c> for a failed TLS handshake, else the SASL mechanism (<c>PLAIN</c>, <c>SCRAM-SHA-256</c>, ...).</summary>
    public string Mechanism { get; }
}
