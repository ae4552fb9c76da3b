namespace Messaging;

/// <summary>A topic to create.</summary>
/// <param name="Name">The topic name.</param>
/// <param name="Partitions">How many partitions; -1 takes the broker's default (<c>num.partitions</c>).</param>
/// <param name="ReplicationFactor">How many replicas; -1 takes the broker's default (<c>default.replication.factor</c>).</param>
public sealed record NewTopic(string Name, int Partitions = -1, short ReplicationFactor = -1)
{
    /// <summary>Topic configuration overrides, e.g. <c>cleanup.policy=compact</c>, <c>retention.ms</c>.</summary>
    public IReadOnlyDictionary<string, string>? Configs { get; init; }

    /// <summary>Explicit replica placement per partition (then <see cref="Partitions"/> and <see cref="ReplicationFactor"/> must be -1).</summary>
    public IReadOnlyDictionary<int, int[]>? ReplicaAssignments { get; init; }
}
