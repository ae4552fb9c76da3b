
namespace Messaging;

/// <summary>A record for <see cref="KafkaProducer{TKey, TValue}"/>: key and value (serialized by the producer), and optionally headers, a partition and a timestamp.</summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
/// <param name="Key">The key (null for a reference type: no key).</param>
/// <param name="Value">The value (null for a reference type: a tombstone).</param>
public readonly record struct ProducerRecord<TKey, TValue>(TKey Key, TValue Value)
{
    private readonly int? _partition;

    /// <summary>The headers, or null.</summary>
    public IReadOnlyList<RecordHeader>? Headers { get; init; }

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

    /// <summary>The record's timestamp (a create time; a <see cref="DateTimeOffset"/> converts), or null for now.</summary>
    public Timestamp? Timestamp { get; init; }
}
