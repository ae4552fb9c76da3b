namespace Messaging;

/// <summary>
/// The one exception type thrown for malformed protocol input: a length that exceeds what remains in the
/// buffer or a configured limit, an overlong varint, a negative size, an unexpected null, and so on.
/// </summary>
/// <remarks>
/// Decoders throw only this type for bad bytes, whatever the bytes are. The message text names the field,
/// the message it belongs to, the byte offset within the buffer being decoded and the reason, for example
/// <c>Malformed FetchResponse.Records at byte offset 57: length 2147483647 exceeds the 1048576 bytes that remain.</c>
/// </remarks>
public sealed class KafkaProtocolException : KafkaException
{
    /// <summary>Creates an exception with a generic message.</summary>
    public KafkaProtocolException()
        : base("Malformed Kafka protocol data.", isRetriable: false)
    {
        Offset = -1;
    }

    /// <summary>Creates an exception with the given message and no location.</summary>
    /// <param name="message">The message text.</param>
    public KafkaProtocolException(string message)
        : base(message, isRetriable: false)
    {
        Offset = -1;
    }

    /// <summary>Creates an exception with the given message and inner exception, and no location.</summary>
    /// <param name="message">The message text.</param>
    /// <param name="innerException">The exception that caused this one.</param>
    public KafkaProtocolException(string message, Exception innerException)
        : base(message, isRetriable: false, innerException)
    {
        Offset = -1;
    }

    /// <summary>Creates an exception that locates the malformed field.</summary>
    /// <param name="messageName">The protocol message being decoded (for example <c>FetchResponse</c>), or null if unknown.</param>
    /// <param name="fieldName">The field being decoded (for example <c>Records</c>), or null if unknown.</param>
    /// <param name="offset">The byte offset, within the buffer being decoded, at which the field starts.</param>
    /// <param name="reason">Why the input is malformed.</param>
    public KafkaProtocolException(string? messageName, string? fieldName, int offset, string reason)
        : base(Format(messageName, fieldName, offset, reason), isRetriable: false)
    {
        MessageName = messageName;
        FieldName = fieldName;
        Offset = offset;
        Reason = reason;
    }

    /// <summary>The protocol message being decoded, or null if not known.</summary>
    public string? MessageName { get; }

    /// <summary>The field being decoded, or null if not known.</summary>
    public string? FieldName { get; }

    /// <summary>The byte offset, within the buffer being decoded, at which the malformed field starts; -1 if unknown.</summary>
    public int Offset { get; }

    /// <summary>Why the input is malformed (the message text without the location), or null if not given.</summary>
    public string? Reason { get; }

    private static string Format(string? messageName, string? fieldName, int offset, string reason)
    {
        string where = (messageName, fieldName) switch
        {
            (null, null) => "Malformed Kafka protocol data",
            (null, _) => "Malformed field " + fieldName,
            (_, null) => "Malformed " + messageName,
            _ => "Malformed " + messageName + "." + fieldName,
        };
        return where + " at byte offset " + offset.ToString(System.Globalization.CultureInfo.InvariantCulture) + ": " + reason;
    }
}
