namespace Messaging;

/// <summary>The built-in partitioners (librdkafka's <c>partitioner</c> setting; the Java client's default is <see cref="Murmur2Random"/>).</summary>
public enum PartitionerKind
{
    /// <summary>
    /// Keyed records: <c>toPositive(murmur2(key)) % partitions</c>, bit-for-bit the Java client's default partitioner
    /// and librdkafka's <c>murmur2_random</c>. Records without a key: sticky partitioning (KIP-480) — they go to one
    /// partition's batch until it fills up or is sent, then move to another partition chosen at random. The default.
    /// </summary>
    Murmur2Random = 0,

    /// <summary>Every record by murmur2 of its key; a null key hashes like an empty one, so all keyless records share one partition (librdkafka's <c>murmur2</c>).</summary>
    Murmur2 = 1,

    /// <summary>Keys are ignored: every record is sticky-partitioned (KIP-480), for even spread with full batches.</summary>
    Sticky = 2,
}
