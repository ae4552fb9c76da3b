namespace Messaging.Producer;

/// <summary>
/// The sticky partition of one topic for records without a key (KIP-480): every such record goes to the current
/// sticky partition until that partition needs a new batch (its batch filled up, or was sent), then a new partition
/// is drawn at random (different from the previous one when the topic has more than one). Batches fill up faster and
/// requests carry fewer, fuller batches than with per-record random partitioning. Partitions with a leader are drawn,
/// as the Java client and librdkafka draw among available partitions: a record placed on one without a leader would
/// wait there, likely until its delivery timeout, while the others take records. Only when none has one are they all
/// drawn.
/// </summary>
/// <remarks>Thread-safe without locks: the current choice is one int read and replaced with compare-and-swap, so two
/// threads that both saw the full batch move it once.</remarks>
internal sealed class StickyPartitioner
{
    private int _current = -1;

    /// <summary>The current sticky partition of a topic with <paramref name="partitions"/>, drawn on first use.</summary>
    public int Current(PartitionState[] partitions)
    {
        var current = Volatile.Read(ref _current);
        if ((uint)current < (uint)partitions.Length)
        {
            return current;
        }

        var drawn = Draw(partitions, -1);
        var previous = Interlocked.CompareExchange(ref _current, drawn, current);
        return previous == current ? drawn : Current(partitions);
    }

    /// <summary>Moves off <paramref name="previousPartition"/> if it is still the current choice.</summary>
    public void OnNewBatch(int previousPartition, PartitionState[] partitions)
    {
        if (Volatile.Read(ref _current) != previousPartition)
        {
            return; // another thread moved it already
        }

        Interlocked.CompareExchange(ref _current, Draw(partitions, previousPartition), previousPartition);
    }

    /// <summary>
    /// A partition other than <paramref name="previous"/> drawn uniformly among those with a leader; <paramref name="previous"/>
    /// itself when it is the only one with a leader; when none has one, drawn among them all.
    /// </summary>
    private static int Draw(PartitionState[] partitions, int previous)
    {
        var count = partitions.Length;
        var led = 0;
        for (var p = 0; p < count; p++)
        {
            if (p != previous && partitions[p].Sender is not null)
            {
                led++;
            }
        }

        if (led > 0)
        {
            var pick = Random.Shared.Next(led);
            for (var p = 0; ; p++)
            {
                if (p != previous && partitions[p].Sender is not null && pick-- == 0)
                {
                    return p;
                }
            }
        }

        if ((uint)previous < (uint)count && partitions[previous].Sender is not null)
        {
            return previous;
        }

        if (count <= 1 || previous < 0)
        {
            return count <= 1 ? 0 : Random.Shared.Next(count);
        }

        var next = Random.Shared.Next(count - 1);
        return next >= previous ? next + 1 : next; // uniform over every partition but the previous one
    }
}
