namespace Messaging;

/// <summary>
/// The connection to a broker could not be made, broke, or was closed (a timeout elsewhere on it, a protocol
/// violation, the broker going away) before the request was answered. Retriable: the client reconnects with
/// backoff, and metadata may point the request elsewhere.
/// </summary>
public sealed class KafkaConnectionException : KafkaException
{
    /// <summary>Creates the exception.</summary>
    public KafkaConnectionException(string message, string broker, Exception? innerException = null)
        : base(message, isRetriable: true, innerException)
    {
        Broker = broker;
    }

    /// <summary>The broker, e.g. <c>broker 1 (127.0.0.1:9092)</c> or <c>bootstrap 127.0.0.1:9092</c>.</summary>
    public string Broker { get; }
}
