
namespace Messaging;

/// <summary>A broker as cluster metadata describes it.</summary>
/// <param name="NodeId">Its id.</param>
/// <param name="Host">Its advertised host.</param>
/// <param name="Port">Its advertised port.</param>
/// <param name="Rack">Its rack, if configured.</param>
public sealed record BrokerInfo(int NodeId, string Host, int Port, string? Rack);

/// <summary>A partition as cluster metadata describes it.</summary>
/// <param name="Partition">The partition index.</param>
/// <param name="Leader">The leader's node id, or -1 when there is none right now.</param>
/// <param name="LeaderEpoch">The leader epoch, or -1 if the broker did not say.</param>
/// <param name="Replicas">The replicas' node ids.</param>
/// <param name="InSyncReplicas">The in-sync replicas' node ids.</param>
/// <param name="OfflineReplicas">The offline replicas' node ids.</param>
/// <param name="Error">The partition's error (e.g. <see cref="ErrorCode.LeaderNotAvailable"/>), or <see cref="ErrorCode.None"/>.</param>
public sealed record PartitionInfo(int Partition, int Leader, int LeaderEpoch, IReadOnlyList<int> Replicas, IReadOnlyList<int> InSyncReplicas, IReadOnlyList<int> OfflineReplicas, ErrorCode Error);

/// <summary>A topic as cluster metadata describes it.</summary>
/// <param name="Name">The topic name.</param>
/// <param name="TopicId">The topic id (KIP-516), or <see cref="Guid.Empty"/> if the broker has none.</param>
/// <param name="IsInternal">True for internal topics such as <c>__consumer_offsets</c>.</param>
/// <param name="Partitions">The partitions, indexed by partition number.</param>
/// <param name="Error">The topic's error (e.g. <see cref="ErrorCode.UnknownTopicOrPartition"/>), or <see cref="ErrorCode.None"/>.</param>
public sealed record TopicInfo(string Name, Guid TopicId, bool IsInternal, IReadOnlyList<PartitionInfo> Partitions, ErrorCode Error);

/// <summary>
/// One immutable snapshot of what the client knows about the cluster. A refresh builds a new snapshot and swaps it
/// in; readers hold whichever snapshot they read, consistent in itself.
/// </summary>
public sealed class ClusterMetadata
{
    /// <summary>The snapshot before the first refresh: no brokers, no topics.</summary>
    public static readonly ClusterMetadata Empty = new(null, -1, new Dictionary<int, BrokerInfo>(), new Dictionary<string, TopicInfo>(StringComparer.Ordinal), DateTimeOffset.MinValue);

    internal ClusterMetadata(string? clusterId, int controllerId, IReadOnlyDictionary<int, BrokerInfo> brokers, IReadOnlyDictionary<string, TopicInfo> topics, DateTimeOffset fetchedAt)
    {
        ClusterId = clusterId;
        ControllerId = controllerId;
        Brokers = brokers;
        Topics = topics;
        FetchedAt = fetchedAt;
    }

    /// <summary>The cluster id, if the broker reported one.</summary>
    public string? ClusterId { get; }

    /// <summary>The controller's node id (where CreateTopics and DeleteTopics go), or -1.</summary>
    public int ControllerId { get; }

    /// <summary>The brokers by node id.</summary>
    public IReadOnlyDictionary<int, BrokerInfo> Brokers { get; }

    /// <summary>The topics this snapshot covers, by name.</summary>
    public IReadOnlyDictionary<string, TopicInfo> Topics { get; }

    /// <summary>When the response this snapshot came from arrived.</summary>
    public DateTimeOffset FetchedAt { get; }

    /// <summary>
    /// True when <paramref name="partition"/> has a leader this snapshot can route to: a leader id, and that broker
    /// in the broker list (a broker that is down drops out of the list while partitions still name it). Producer and
    /// consumer both ask this, and keep asking for fresh metadata while it is false for a partition they need.
    /// </summary>
    internal bool HasRoutableLeader(PartitionInfo partition) => partition.Leader >= 0 && Brokers.ContainsKey(partition.Leader);

    /// <summary>The leader of a partition, if the snapshot knows one.</summary>
    public bool TryGetLeader(string topic, int partition, out int leader, out int leaderEpoch)
    {
        if (Topics.TryGetValue(topic, out var info) && (uint)partition < (uint)info.Partitions.Count && info.Partitions[partition].Leader >= 0)
        {
            leader = info.Partitions[partition].Leader;
            leaderEpoch = info.Partitions[partition].LeaderEpoch;
            return true;
        }

        leader = -1;
        leaderEpoch = -1;
        return false;
    }
}
