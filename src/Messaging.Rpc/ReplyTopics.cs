using System.Text;

namespace Messaging.Rpc;

/// <summary>Setting up reply topics: creating them, waiting until their partitions are known, and choosing an instance's partition.</summary>
internal static class ReplyTopics
{
    private static readonly TimeSpan Backoff = TimeSpan.FromMilliseconds(50);

    /// <summary>Creates <paramref name="topic"/>; one that already exists is fine.</summary>
    public static async Task CreateAsync(KafkaAdminClient admin, string topic, int partitions, short replicationFactor, CancellationToken cancellationToken)
    {
        try
        {
            await admin.CreateTopicsAsync([new NewTopic(topic, partitions, replicationFactor)], cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (KafkaAdminException ex) when (ex.Errors.TryGetValue(topic, out var error) && error is KafkaErrorException { Code: ErrorCode.TopicAlreadyExists })
        {
            // Another client instance created it first.
        }
    }

    /// <summary>
    /// The partition count of <paramref name="topic"/>, creating it first when it is missing and
    /// <paramref name="create"/> says so; waits until the cluster's metadata shows it.
    /// </summary>
    public static async Task<int> PartitionCountAsync(KafkaAdminClient admin, string topic, bool create, int partitions, short replicationFactor,
        TimeProvider time, CancellationToken cancellationToken)
    {
        var created = false;
        while (true)
        {
            try
            {
                var info = await admin.DescribeTopicsAsync([topic], cancellationToken).ConfigureAwait(false);
                if (info.Count == 1 && info[0].Partitions.Count > 0)
                {
                    return info[0].Partitions.Count;
                }
            }
            catch (KafkaAdminException ex) when (ex.Errors.TryGetValue(topic, out var error) && error is KafkaErrorException { Code: ErrorCode.UnknownTopicOrPartition })
            {
                if (!create && !created)
                {
                    throw new RpcException(RpcStatus.Unavailable, "The reply topic " + topic + " does not exist (and CreateReplyTopic is off).", ex);
                }

                if (create && !created)
                {
                    await CreateAsync(admin, topic, partitions, replicationFactor, cancellationToken).ConfigureAwait(false);
                    created = true;
                    continue;
                }
            }

            // Just created: metadata catches up shortly.
            await Task.Delay(Backoff, time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The reply topic of one client in <see cref="RpcReplyMode.PerInstanceTopic"/>: the reply topic, the instance ID and
    /// a random suffix of this client's own — two live clients given the same instance ID (a copied configuration, a
    /// restart that overlaps the old process) must not read, and on dispose delete, each other's topic.
    /// </summary>
    public static string PerInstanceName(string replyTopic, string instanceId) => replyTopic + "-" + instanceId + "-" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>A stable partition for an instance ID: FNV-1a over its UTF-8 bytes (the same on every run and platform, unlike <c>string.GetHashCode</c>).</summary>
    public static int PartitionFor(string instanceId, int partitionCount)
    {
        var hash = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(instanceId))
        {
            hash = (hash ^ b) * 16777619u;
        }

        return (int)(hash % (uint)partitionCount);
    }
}
