namespace Messaging.Testing.Native;

/// <summary>
/// Thrown when no librdkafka native library could be loaded for the embedded broker.
/// The message lists every file that was tried and why each one failed.
/// </summary>
public sealed class LibrdkafkaLoadException : Exception
{
    /// <summary>Creates the exception with the list of attempts.</summary>
    public LibrdkafkaLoadException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the list of attempts and the last failure.</summary>
    public LibrdkafkaLoadException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public LibrdkafkaLoadException()
    {
    }
}
