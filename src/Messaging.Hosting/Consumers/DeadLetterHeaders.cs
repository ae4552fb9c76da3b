namespace Messaging.Hosting;

/// <summary>
/// The headers a hosted consumer adds to a dead letter, after the original record's headers. Values are UTF-8 text
/// (numbers in invariant decimal).
/// </summary>
public static class DeadLetterHeaders
{
    /// <summary>The full name of the exception's type (the handler's last failure, or the deserializer's).</summary>
    public const string ErrorType = "dead-letter.error.type";

    /// <summary>The exception's message (at most 4,096 characters).</summary>
    public const string ErrorMessage = "dead-letter.error.message";

    /// <summary>The topic the record was read from.</summary>
    public const string SourceTopic = "dead-letter.source.topic";

    /// <summary>The partition the record was read from.</summary>
    public const string SourcePartition = "dead-letter.source.partition";

    /// <summary>The record's offset in its partition.</summary>
    public const string SourceOffset = "dead-letter.source.offset";

    /// <summary>How many times the handler ran (0 when the key or value could not be deserialized).</summary>
    public const string Attempts = "dead-letter.attempts";
}
