namespace Messaging.Hosting;

/// <summary>
/// Handles the records of a hosted consumer (<c>AddKafkaConsumerHandler</c>). Resolved from the service provider in a
/// new scope for every attempt, so scoped services (a database context, a unit of work) are fresh for each record and
/// a retry does not inherit the state of the attempt that failed.
/// </summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
/// <remarks>
/// Records of one partition are handled one at a time, in offset order; records of different partitions run in
/// parallel, up to <see cref="KafkaConsumerHandlerOptions.MaxConcurrency"/>. A record's offset is committed only after
/// its handler returned (or the record went to the dead-letter topic): a handler may run again for a record after a
/// crash or a rebalance (at-least-once), so make it idempotent. Throwing makes the record retried
/// (<see cref="KafkaConsumerHandlerOptions.MaxAttempts"/>).
/// </remarks>
public interface IKafkaRecordHandler<TKey, TValue>
{
    /// <summary>Handles one record.</summary>
    /// <param name="record">The record, key and value deserialized.</param>
    /// <param name="cancellationToken">
    /// Cancelled when the handler must give up: the host's drain timeout ran out, or the partition was lost to another
    /// member. Not cancelled merely because the host is stopping — an in-flight handler is let finish.
    /// </param>
    /// <returns>When the record is handled.</returns>
    ValueTask HandleAsync(ConsumeResult<TKey, TValue> record, CancellationToken cancellationToken);
}
