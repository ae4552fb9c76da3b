using System.Runtime.ExceptionServices;

namespace Messaging.Hosting;

/// <summary>
/// A record waiting for its handler in a partition's queue: the typed record, its raw key and value when dead letters
/// are on, and the deserializer's failure when its key or value could not be read (then no handler runs for it).
/// </summary>
internal readonly record struct WorkItem<TKey, TValue>(ConsumeResult<TKey, TValue> Record, byte[]? RawKey, byte[]? RawValue, ExceptionDispatchInfo? DeserializationFailure);

/// <summary>How a record's processing ended.</summary>
internal enum WorkOutcome
{
    /// <summary>The handler returned: store the offset.</summary>
    Handled,

    /// <summary>Given up and written to the dead-letter topic: store the offset, the partition flows on.</summary>
    DeadLettered,

    /// <summary>Given up without a dead letter: the partition stops here (its offset stays before the record).</summary>
    Stopped,

    /// <summary>The partition is going away or the host stopping: nothing is stored, the next owner runs the record.</summary>
    Abandoned,
}
