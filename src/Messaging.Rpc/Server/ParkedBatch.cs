namespace Messaging.Rpc;

/// <summary>
/// The rest of a batch that could not be admitted yet (its next request's method was full, or its key busy, or the
/// server full), from <see cref="Next"/> on. Its partition is paused meanwhile, so at most one batch per partition
/// waits: the queue in front of the handlers is bounded by the consumer's batch size.
/// </summary>
internal sealed class ParkedBatch(PartitionState partition, ConsumeBatch batch, int next)
{
    public PartitionState Partition { get; } = partition;

    public ConsumeBatch Batch { get; } = batch;

    public int Next { get; set; } = next;
}
