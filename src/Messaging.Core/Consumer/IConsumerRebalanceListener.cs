namespace Messaging;

/// <summary>
/// Told when a subscribed consumer's partitions change. The consumer awaits each callback before the group moves on,
/// so a callback can commit, store offsets, seek or flush state for the partitions it is given.
/// </summary>
/// <remarks>
/// <para>Callbacks run one at a time on the consumer's group loop (never on its heartbeat loop), not on the thread that
/// consumes: they may run while the application is processing a record it already holds. By the time
/// <see cref="OnPartitionsRevokedAsync"/> or <see cref="OnPartitionsLostAsync"/> runs, the consumer hands out no more
/// records of those partitions (records already handed out stay valid).</para>
/// <para>Eager assignors revoke every partition at the start of each rebalance and assign the new share at its end;
/// cooperative assignors and the KIP-848 protocol revoke and assign only the partitions that move. A callback that
/// takes longer than the rebalance timeout gets the member removed from the group; watch the token.</para>
/// </remarks>
public interface IConsumerRebalanceListener
{
    /// <summary>
    /// Partitions added to this consumer (possibly none, at the end of every classic rebalance, as the Java client
    /// does). Their start positions are known (the committed offset, or <see cref="KafkaConsumerOptions.AutoOffsetReset"/>
    /// where none is committed); <c>Seek</c> here overrides them.
    /// </summary>
    /// <param name="partitions">The added partitions.</param>
    /// <param name="cancellationToken">Cancelled when the consumer is disposed.</param>
    /// <returns>When the callback is done.</returns>
    ValueTask OnPartitionsAssignedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken);

    /// <summary>
    /// Partitions this consumer gives up cleanly: their offsets can still be committed (or stored, for the automatic
    /// commit that follows this callback when <see cref="KafkaConsumerOptions.EnableAutoCommit"/> is on).
    /// </summary>
    /// <param name="partitions">The revoked partitions.</param>
    /// <param name="cancellationToken">Cancelled when the consumer is disposed.</param>
    /// <returns>When the callback is done.</returns>
    ValueTask OnPartitionsRevokedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken);

    /// <summary>
    /// Partitions this consumer lost without a chance to commit: it was fenced, its session expired, or it stopped
    /// polling for longer than <see cref="KafkaConsumerOptions.MaxPollInterval"/>. Another member may already own
    /// them. The default calls <see cref="OnPartitionsRevokedAsync"/>, as the Java client does.
    /// </summary>
    /// <param name="partitions">The lost partitions.</param>
    /// <param name="cancellationToken">Cancelled when the consumer is disposed.</param>
    /// <returns>When the callback is done.</returns>
    ValueTask OnPartitionsLostAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken) =>
        OnPartitionsRevokedAsync(partitions, cancellationToken);
}
