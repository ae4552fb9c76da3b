using System.Text;

namespace Messaging.Producer;

/// <summary>A topic the producer has produced to: its partitions (from metadata) and its sticky partition.</summary>
internal sealed class TopicState
{
    private readonly PartitionSequences[]? _sequences;

    /// <summary>Held while the partitions change, and while <see cref="TryRetire"/> looks at them: a partition added meanwhile would escape its look.</summary>
    private readonly Lock _resize = new();
    private PartitionState[] _partitions = [];
    private long _lastUsedTicks;
    private volatile bool _retired;

    /// <param name="name">The topic.</param>
    /// <param name="id">Orders topics inside a request.</param>
    /// <param name="createdTicks">When it was first produced to (its first <see cref="LastUsedTicks"/>).</param>
    /// <param name="sequences">The idempotence sequences its partitions had when the producer last dropped the topic as idle (<see cref="Retired"/>), or null.</param>
    public TopicState(string name, int id, long createdTicks = 0, PartitionSequences[]? sequences = null)
    {
        Name = name;
        Id = id;
        NameUtf8 = Encoding.UTF8.GetBytes(name);
        _lastUsedTicks = createdTicks;
        _sequences = sequences;
    }

    public string Name { get; }

    /// <summary>A small number that orders topics inside a request.</summary>
    public int Id { get; }

    public byte[] NameUtf8 { get; }

    /// <summary>The partitions known from metadata; grows when the topic does, and shrinks only when it was created again with fewer (<see cref="RemovePartitionsFrom"/>).</summary>
    public PartitionState[] Partitions => Volatile.Read(ref _partitions);

    /// <summary>The topic id (KIP-516) the last metadata applied gave, or <see cref="Guid.Empty"/>. Used by the routing only.</summary>
    public Guid TopicId { get; set; }

    /// <summary>Where records without a key go (KIP-480).</summary>
    public StickyPartitioner Sticky { get; } = new();

    /// <summary>True once metadata described the topic.</summary>
    public bool HasMetadata => Partitions.Length > 0;

    /// <summary>
    /// When the topic was last seen in use (a batch started, or housekeeping found records queued or in flight, or a
    /// wait for its metadata ended), in the producer's clock ticks: <c>metadata.max.idle.ms</c> counts from here.
    /// </summary>
    public long LastUsedTicks
    {
        get => Volatile.Read(ref _lastUsedTicks);
        set => Volatile.Write(ref _lastUsedTicks, value);
    }

    /// <summary>Calls waiting for the topic's metadata (<see cref="RecordAccumulator.AcquireTopic"/>); under the accumulator's topics lock.</summary>
    public int Waiters { get; set; }

    /// <summary>
    /// True once the producer dropped the topic as idle (<see cref="RecordAccumulator.RetireIdle"/>): nothing is
    /// appended to it any more; a record for it gets the topic's new state, which waits for metadata again.
    /// </summary>
    public bool Retired
    {
        get => _retired;
        set => _retired = value;
    }

    /// <summary>Extends the partitions to <paramref name="count"/> (keeping the existing ones).</summary>
    public void EnsurePartitions(int count)
    {
        if (count <= Partitions.Length)
        {
            return;
        }

        lock (_resize)
        {
            var current = Partitions;
            if (count <= current.Length)
            {
                return;
            }

            var grown = new PartitionState[count];
            current.CopyTo(grown, 0);
            for (var p = current.Length; p < count; p++)
            {
                grown[p] = new PartitionState(this, p, _sequences is not null && p < _sequences.Length ? _sequences[p] : null);
            }

            Volatile.Write(ref _partitions, grown);
        }
    }

    /// <summary>Cuts the partitions back to the first <paramref name="count"/> (the topic was created again with fewer); returns those cut off.</summary>
    public PartitionState[] RemovePartitionsFrom(int count)
    {
        lock (_resize)
        {
            var current = Partitions;
            if (count >= current.Length)
            {
                return [];
            }

            Volatile.Write(ref _partitions, current[..count]);
            return current[count..];
        }
    }

    /// <summary>
    /// Marks the topic <see cref="Retired"/> if none of its partitions has a batch open, queued or in flight: under
    /// every partition's lock (an append either went in before, and the topic is not idle, or sees the mark), with
    /// the partitions held still. Returns whether it did.
    /// </summary>
    public bool TryRetire()
    {
        lock (_resize)
        {
            var partitions = Partitions;
            var entered = 0;
            try
            {
                foreach (var partition in partitions)
                {
                    partition.Sync.Enter();
                    entered++;
                    if (partition.Open is not null || partition.Queue.Count > 0 || partition.InFlight > 0)
                    {
                        return false;
                    }
                }

                Retired = true;
                return true;
            }
            finally
            {
                while (entered > 0)
                {
                    partitions[--entered].Sync.Exit();
                }
            }
        }
    }
}
