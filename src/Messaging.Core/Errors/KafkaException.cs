namespace Messaging;

/// <summary>
/// The base of every error the client reports. <see cref="IsRetriable"/> says what a caller can do: a retriable
/// error may succeed if the same operation is tried again (after metadata refresh or a backoff); a
/// non-retriable one will not succeed without a change on the caller's or the cluster's side.
/// </summary>
public abstract class KafkaException : Exception
{
    /// <summary>Creates the exception.</summary>
    protected KafkaException(string message, bool isRetriable, Exception? innerException = null)
        : base(message, innerException)
    {
        IsRetriable = isRetriable;
    }

    /// <summary>True when trying the same operation again may succeed.</summary>
    public bool IsRetriable { get; }
}
