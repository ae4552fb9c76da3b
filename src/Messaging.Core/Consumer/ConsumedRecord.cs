using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using Messaging.Pools;

namespace Messaging;

/// <summary>
/// One consumed record on the raw path: a handle to a pooled record whose key, value and header values are
/// <see cref="ReadOnlyMemory{T}"/> slices of the consumer's pooled buffers — no copies. Valid until the record is
/// recycled (<see cref="Recycle"/>) or its batch is disposed; after that every member throws
/// <see cref="ObjectDisposedException"/> instead of reading bytes that may by then belong to another batch.
/// </summary>
/// <remarks>
/// <para>A value type holding the record object and the version it had when handed out: copies of a handle are equally
/// valid and all go stale together. Slices taken from a live handle (<see cref="Key"/>, <see cref="Value"/>,
/// <see cref="Headers"/>) must not be read after recycling either — copy what must outlive the record.</para>
/// <para>Recycling returns the record's share of its buffers: when every record of a fetched slice is recycled (or its
/// batch disposed), the memory goes back to its pools. A record that is never recycled is not lost — the garbage
/// collector takes its memory — but the pools cannot reuse it.</para>
/// </remarks>
[StructLayout(LayoutKind.Auto)]
[SuppressMessage("Performance", "CA1815:Override equals and operator equals on value types", Justification = "A handle: equality of handles has no meaning the application needs.")]
public readonly struct ConsumedRecord
{
    private readonly PooledRecord? _record;
    private readonly int _version;

    internal ConsumedRecord(PooledRecord record, int version)
    {
        _record = record;
        _version = version;
    }

    /// <summary>The topic.</summary>
    public string Topic => Live.Owner!.TopicPartition.Topic;

    /// <summary>The partition.</summary>
    public int Partition => Live.Owner!.TopicPartition.Partition;

    /// <summary>The topic and partition.</summary>
    public TopicPartition TopicPartition => Live.Owner!.TopicPartition;

    /// <summary>The record's offset.</summary>
    public long Offset => Live.View.Offset;

    /// <summary>The record's timestamp: the producer's create time or the broker's log-append time (<see cref="Timestamp.None"/> when the broker has none).</summary>
    public Timestamp Timestamp => new(Live.View.Timestamp, Live.TimestampType);

    /// <summary>The partition leader epoch stamped on the record's batch (-1 when unknown).</summary>
    public int LeaderEpoch => Live.LeaderEpoch;

    /// <summary>The key: a slice of a pooled buffer, valid until the record is recycled (empty when <see cref="IsKeyNull"/>).</summary>
    public ReadOnlyMemory<byte> Key => Live.View.Key;

    /// <summary>The value: a slice of a pooled buffer, valid until the record is recycled (empty when <see cref="IsValueNull"/>).</summary>
    public ReadOnlyMemory<byte> Value => Live.View.Value;

    /// <summary>True when the key is a Kafka null.</summary>
    public bool IsKeyNull => Live.View.IsKeyNull;

    /// <summary>True when the value is a Kafka null (a tombstone).</summary>
    public bool IsValueNull => Live.View.IsValueNull;

    /// <summary>The headers; their values are slices of a pooled buffer, valid until the record is recycled.</summary>
    public RecordHeaders Headers => Live.View.Headers;

    /// <summary>True once the record was recycled (or for a default handle).</summary>
    public bool IsRecycled => _record is null || Volatile.Read(ref _record.Version) != _version;

    private PooledRecord Live
    {
        get
        {
            var record = _record;
            if (record is null || record.Version != _version)
            {
                ThrowRecycled(record is null);
            }

            return record;
        }
    }

    /// <summary>
    /// Gives the record back: its share of the pooled buffers is released, and this handle (and every copy) goes stale.
    /// Do not use the record, or slices taken from it, afterwards.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The record was already recycled (or its batch disposed).</exception>
    public void Recycle()
    {
        var record = _record;
        if (record is null)
        {
            ThrowRecycled(true);
        }

        var owner = record.Owner;
        if (owner is null || Interlocked.CompareExchange(ref record.Version, _version + 1, _version) != _version)
        {
            ThrowRecycled(false);
        }

        owner.Release(1);
    }

    /// <summary>Marks the record recycled if this handle is current (no count-down: the caller does that in bulk).</summary>
    internal bool TryMarkRecycled()
    {
        var record = _record;
        return record is not null && Interlocked.CompareExchange(ref record.Version, _version + 1, _version) == _version;
    }

    /// <inheritdoc/>
    public override string ToString() =>
        IsRecycled ? "(recycled record)" : TopicPartition + "@" + Offset.ToString(System.Globalization.CultureInfo.InvariantCulture);

    [DoesNotReturn]
    private static void ThrowRecycled(bool isDefault) =>
        throw new ObjectDisposedException(nameof(ConsumedRecord), isDefault
            ? "This is a default ConsumedRecord, not a consumed record."
            : "The record was recycled (or its batch disposed); its memory may now hold another batch's records.");
}
