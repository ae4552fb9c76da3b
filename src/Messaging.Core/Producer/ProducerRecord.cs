using Messaging.Records;

namespace Messaging;

/// <summary>
/// One record to produce, described over spans so that producing it copies the bytes straight into a batch and
/// allocates nothing. For <see cref="KafkaProducer.Produce(string, in ProducerRecord, DeliveryHandler?, object?)"/>.
/// </summary>
/// <remarks>
/// A span cannot be null, so a null key or value (as opposed to an empty one) is said with <see cref="KeyIsNull"/> /
/// <see cref="ValueIsNull"/>; the default record has an empty key and an empty value.
/// </remarks>
public readonly ref struct ProducerRecord
{
    private readonly int? _partition;

    /// <summary>The key bytes (ignored when <see cref="KeyIsNull"/>).</summary>
    public ReadOnlySpan<byte> Key { get; init; }

    /// <summary>The value bytes (ignored when <see cref="ValueIsNull"/>).</summary>
    public ReadOnlySpan<byte> Value { get; init; }

    /// <summary>True for a record without a key (length -1 on the wire; placed by the sticky partitioner).</summary>
    public bool KeyIsNull { get; init; }

    /// <summary>True for a null value (a tombstone on compacted topics).</summary>
    public bool ValueIsNull { get; init; }

    /// <summary>The headers, in order.</summary>
    public ReadOnlySpan<RecordHeader> Headers { get; init; }

    /// <summary>
    /// The partition, or null to let the partitioner choose. Producing to a partition the topic does not have (after its
    /// metadata is fetched again, in case the topic grew) throws <see cref="ArgumentOutOfRangeException"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Set to a negative number.</exception>
    public int? Partition
    {
        get => _partition;
        init => _partition = KafkaProducer.CheckPartition(value, nameof(Partition));
    }

    /// <summary>The record's timestamp, or null for now.</summary>
    public Timestamp? Timestamp { get; init; }

    internal RecordNulls Nulls => (KeyIsNull ? RecordNulls.Key : RecordNulls.None) | (ValueIsNull ? RecordNulls.Value : RecordNulls.None);
}
