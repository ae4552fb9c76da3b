namespace Messaging.Testing;

/// <summary>An operation on the embedded Kafka cluster failed; the message names the operation and librdkafka's error.</summary>
public sealed class EmbeddedKafkaException : Exception
{
    /// <summary>Creates the exception.</summary>
    public EmbeddedKafkaException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    public EmbeddedKafkaException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public EmbeddedKafkaException()
    {
    }
}
