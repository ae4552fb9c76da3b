namespace Messaging;

/// <summary>What a record's timestamp means: bit 3 of the batch (or magic-1 message) attributes.</summary>
public enum TimestampType : sbyte
{
    /// <summary>No timestamp: legacy magic-0 messages.</summary>
    NotAvailable = -1,

    /// <summary>The producer's creation time (attribute bit 3 clear).</summary>
    CreateTime = 0,

    /// <summary>The broker's log-append time (attribute bit 3 set); every record then carries the batch's max timestamp.</summary>
    LogAppendTime = 1,
}
