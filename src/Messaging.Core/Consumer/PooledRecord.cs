using Messaging.Consumer;
using Messaging.Records;

namespace Messaging.Pools;

/// <summary>
/// The object behind a <see cref="ConsumedRecord"/> handle: one decoded record (offset, timestamp, and key, value and
/// headers as slices of a pooled buffer), reused for other records once recycled. Applications never read it directly
/// — they hold <see cref="ConsumedRecord"/> handles, which carry the version stamp that detects use after recycling;
/// custom <see cref="IRecordPool"/> implementations create and keep these objects, and see only what a pool needs.
/// </summary>
public sealed class PooledRecord
{
    // Bumped each time the record is recycled: a handle whose version differs is stale.
    internal int Version;

    /// <summary>Creates an empty record object (for custom record pools).</summary>
    public PooledRecord()
    {
    }

    /// <summary>The approximate size of one record object in bytes, for a pool's retained-bytes figure.</summary>
    public static int ApproximateSize => 112;

    /// <summary>
    /// Whether the object holds a decoded record that handles can reach. False from the moment the consumer rents it
    /// until it is filled, and again once it has been recycled: an object given back through
    /// <see cref="IRecordPool.Return"/> is never in use (one that is points to a bookkeeping bug).
    /// </summary>
    public bool IsInUse => Owner is not null;

    /// <summary>The slice this record belongs to while it is live.</summary>
    internal RecordSlice? Owner { get; set; }

    /// <summary>The decoded record.</summary>
    internal RecordView View;

    /// <summary>The partition leader epoch of the record's batch (-1 for legacy messages).</summary>
    internal int LeaderEpoch { get; set; }

    /// <summary>The timestamp type of the record's batch.</summary>
    internal TimestampType TimestampType { get; set; }
}
