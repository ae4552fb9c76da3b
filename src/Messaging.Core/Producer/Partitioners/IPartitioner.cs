namespace Messaging.Partitioners;

/// <summary>
/// Chooses the partition of a record that was produced without an explicit partition. Set one through
/// <see cref="KafkaProducerOptions.CustomPartitioner"/> to replace the built-in <see cref="PartitionerKind"/>s.
/// </summary>
/// <remarks>
/// Called on the producing thread for every record, concurrently from many threads: keep it thread-safe, fast and
/// allocation-free. The key is the serialized key, exactly the bytes that go on the wire.
/// </remarks>
public interface IPartitioner
{
    /// <summary>Returns the partition for a record.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="key">The serialized key (empty when <paramref name="keyIsNull"/>).</param>
    /// <param name="keyIsNull">True when the record has no key (null, as opposed to empty).</param>
    /// <param name="partitionCount">The topic's partition count (at least 1).</param>
    /// <returns>A partition in <c>[0, partitionCount)</c>; anything else fails the produce call.</returns>
    int Partition(string topic, ReadOnlySpan<byte> key, bool keyIsNull, int partitionCount);

    /// <summary>
    /// Called when a record this partitioner sent to <paramref name="previousPartition"/> found that partition's
    /// batch full and started a new one, so a sticky partitioner (KIP-480) can move on. The record is then
    /// partitioned again. The default does nothing.
    /// </summary>
    /// <param name="topic">The topic.</param>
    /// <param name="previousPartition">The partition whose batch filled up.</param>
    /// <param name="partitionCount">The topic's partition count.</param>
    void OnNewBatch(string topic, int previousPartition, int partitionCount)
    {
    }
}
