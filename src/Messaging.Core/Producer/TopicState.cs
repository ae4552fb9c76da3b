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

    /// <summary>The partitions known from metadata; grows when the topic does, never shrinks.</summary>
    public PartitionState[] Partitions => Volatile.Read(ref _partitions);

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
}
