namespace Messaging.Groups;

/// <summary>The cluster as a partition assignor sees it: how many partitions each known topic has.</summary>
/// <remarks>
/// Topics that are missing, or that have no partitions, are skipped by the built-in assignors (as the Java client's
/// <c>AbstractPartitionAssignor</c> does when metadata has no partitions for a subscribed topic). Partition replica
/// racks are not part of the view, so the built-in assignors behave as the Java ones do when no replica racks are known.
/// </remarks>
public sealed class AssignorClusterView
{
    private readonly Dictionary<string, int> _partitionCounts;

    /// <summary>Creates a view from a topic → partition count map (copied).</summary>
    /// <param name="partitionCounts">The number of partitions of each topic; none may be negative.</param>
    /// <exception cref="ArgumentOutOfRangeException">A count is negative.</exception>
    public AssignorClusterView(IEnumerable<KeyValuePair<string, int>> partitionCounts)
    {
        ArgumentNullException.ThrowIfNull(partitionCounts);
        _partitionCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (topic, count) in partitionCounts)
        {
            ArgumentNullException.ThrowIfNull(topic, nameof(partitionCounts));
            ArgumentOutOfRangeException.ThrowIfNegative(count, nameof(partitionCounts));
            _partitionCounts[topic] = count;
        }
    }

    /// <summary>The number of partitions of each topic.</summary>
    public IReadOnlyDictionary<string, int> PartitionCounts => _partitionCounts;

    /// <summary>The number of partitions of <paramref name="topic"/>, or 0 when the topic is unknown.</summary>
    /// <param name="topic">The topic.</param>
    /// <returns>The partition count.</returns>
    public int GetPartitionCount(string topic)
    {
        ArgumentNullException.ThrowIfNull(topic);
        return _partitionCounts.GetValueOrDefault(topic);
    }
}
