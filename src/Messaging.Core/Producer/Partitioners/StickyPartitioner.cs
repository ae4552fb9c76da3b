namespace Messaging.Producer.Partitioners;

/// <summary>
/// The sticky partition of one topic for records without a key (KIP-480): every such record goes to the current
/// sticky partition until that partition needs a new batch (its batch filled up, or was sent), then a new partition
/// is drawn at random (different from the previous one when the topic has more than one). Batches fill up faster and requests carry fewer, fuller
/// batches than with per-record random partitioning.
/// </summary>
/// <remarks>Thread-safe without locks: the current choice is one int read and replaced with compare-and-swap, so two
/// threads that both saw the full batch move it once.</remarks>
internal sealed class StickyPartitioner
{
    private int _current = -1;

    /// <summary>The current sticky partition, drawn on first use.</summary>
    public int Current(int partitionCount)
    {
        var current = Volatile.Read(ref _current);
        if ((uint)current < (uint)partitionCount)
        {
            return current;
        }

        var drawn = Random.Shared.Next(partitionCount);
        var previous = Interlocked.CompareExchange(ref _current, drawn, current);
        return previous == current ? drawn : Current(partitionCount);
    }

    /// <summary>Moves off <paramref name="previousPartition"/> if it is still the current choice.</summary>
    public void OnNewBatch(int previousPartition, int partitionCount)
    {
        if (Volatile.Read(ref _current) != previousPartition)
        {
            return; // another thread moved it already
        }

        var next = partitionCount <= 1 ? 0 : Random.Shared.Next(partitionCount - 1);
        if (partitionCount > 1 && next >= previousPartition)
        {
            next++; // uniform over every partition but the previous one
        }

        Interlocked.CompareExchange(ref _current, next, previousPartition);
    }
}
