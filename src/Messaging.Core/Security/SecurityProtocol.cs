namespace Messaging;

/// <summary>
/// <c>security.protocol</c>: how connections to brokers are secured, with Kafka's names. Set it on
/// <see cref="KafkaClientOptions.SecurityProtocol"/>; TLS settings are in <see cref="KafkaClientOptions.Ssl"/>, SASL
/// settings in <see cref="KafkaClientOptions.Sasl"/>.
/// </summary>
public enum SecurityProtocol
{
    /// <summary><c>PLAINTEXT</c>: plain TCP, no authentication (the default).</summary>
    Plaintext = 0,

    /// <summary><c>SSL</c>: TLS; the client authenticates with a certificate only if the broker asks for one (mTLS).</summary>
    Ssl = 1,

    /// <summary><c>SASL_PLAINTEXT</c>: SASL authentication over plain TCP (credentials of PLAIN travel in the clear).</summary>
    SaslPlaintext = 2,

    /// <summary><c>SASL_SSL</c>: SASL authentication over TLS: what managed Kafka services ask for.</summary>
    SaslSsl = 3,
}
