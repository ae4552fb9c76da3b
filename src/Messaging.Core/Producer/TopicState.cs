using System.Text;

namespace Messaging.Producer;

/// <summary>A topic the producer has produced to: its partitions (from metadata) and its sticky partition.</summary>
internal sealed class TopicState
{
    private PartitionState[] _partitions = [];

    public TopicState(string name, int id)
    {
        Name = name;
        Id = id;
        NameUtf8 = Encoding.UTF8.GetBytes(name);
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

    /// <summary>Extends the partitions to <paramref name="count"/> (keeping the existing ones).</summary>
    public void EnsurePartitions(int count)
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
            grown[p] = new PartitionState(this, p);
        }

        Volatile.Write(ref _partitions, grown);
    }

    /// <summary>Cuts the partitions back to the first <paramref name="count"/> (the topic was created again with fewer); returns those cut off.</summary>
    public PartitionState[] RemovePartitionsFrom(int count)
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
