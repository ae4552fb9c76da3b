
namespace Messaging;

/// <summary>
/// A request got no response within its timeout (<c>request.timeout.ms</c>). The connection it was sent on is
/// closed, because the broker may still answer it later. Retriable: a new connection may do better.
/// </summary>
public sealed class KafkaTimeoutException : KafkaException
{
    /// <summary>Creates the exception.</summary>
    public KafkaTimeoutException(string message, ApiKey apiKey, string broker, TimeSpan elapsed)
        : base(message, isRetriable: true)
    {
        ApiKey = apiKey;
        Broker = broker;
        Elapsed = elapsed;
    }

    /// <summary>The API of the request that timed out.</summary>
    public ApiKey ApiKey { get; }

    /// <summary>The broker it was sent to, e.g. <c>broker 1 (127.0.0.1:9092)</c>.</summary>
    public string Broker { get; }

    /// <summary>How long the request waited.</summary>
    public TimeSpan Elapsed { get; }
}
