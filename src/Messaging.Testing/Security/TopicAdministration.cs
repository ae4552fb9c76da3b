using System.Globalization;
using Messaging.Cluster;
using Messaging.Protocol;
using Messaging.Protocol.Messages;

namespace Messaging.Testing.Security;

/// <summary>
/// CreateTopics and DeleteTopics, answered by the proxy for an <see cref="EmbeddedKafkaCluster"/> (whose mock implements
/// neither) with the cluster's native topic calls, per topic and with Kafka's error codes
/// (<see cref="KafkaProxyOptions.AnswerTopicAdministration"/> says what is answered how).
/// </summary>
/// <remarks>
/// What exists is read from the cluster itself — a Metadata request for every topic, over a connection of the proxy's
/// own — so topics created any way (natively, automatically, through another proxy) count. Requests are answered one at
/// a time over all connections: the checks of one (exists? collides?) and the creations that follow see the same topics.
/// </remarks>
internal sealed class TopicAdministration(EmbeddedKafkaCluster cluster) : IAsyncDisposable
{
    /// <summary>DeleteTopics versions answered: those of the generated message (v4, flexible, is what librdkafka sends at most).</summary>
    public static readonly short DeleteTopicsMinVersion = DeleteTopicsRequest.MinVersion;

    /// <summary>The highest DeleteTopics version answered.</summary>
    public static readonly short DeleteTopicsMaxVersion = DeleteTopicsRequest.MaxVersion;

    /// <summary>The highest CreateTopics version answered (the lowest is <see cref="CreateTopicsCodec.MinVersion"/>).</summary>
    public static readonly short CreateTopicsMaxVersion = CreateTopicsRequest.MaxVersion;

    // -1 takes the broker's defaults: the mock's partition count for topics it creates by itself, and Kafka's
    // default.replication.factor.
    private const int DefaultPartitions = 4;
    private const short DefaultReplicationFactor = 1;

    private readonly SemaphoreSlim _oneAtATime = new(1, 1);
    private readonly Lock _lookupLock = new();
    private ClusterClient? _lookup;
    private bool _disposed;

    /// <summary>Answers one request (the frame with its size prefix); returns the response frame, size prefix included.</summary>
    /// <exception cref="KafkaProtocolException">The request cannot be decoded (or is at a version not answered): the connection must close.</exception>
    /// <exception cref="IOException">The cluster's topics could not be read: the connection closes, as with a broker that failed mid-request.</exception>
    public async Task<byte[]> AnswerAsync(byte[] frame, ApiKey api, short version, CancellationToken cancellationToken)
    {
        using var output = new ContiguousBufferWriter(256);
        await _oneAtATime.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (api == ApiKey.CreateTopics)
            {
                var request = CreateTopicsCodec.ReadRequest(frame.AsMemory(4), version, out var correlationId);
                var response = await CreateAsync(request, version, cancellationToken).ConfigureAwait(false);
                CreateTopicsCodec.WriteResponse(output, response, version, correlationId);
            }
            else
            {
                var request = KafkaFrames.ReadRequest<DeleteTopicsRequest>(frame.AsMemory(4), null, out var header);
                var response = await DeleteAsync(request, version, cancellationToken).ConfigureAwait(false);
                KafkaFrames.WriteResponse(output, response, version, header.CorrelationId);
            }
        }
        finally
        {
            _oneAtATime.Release();
        }

        return output.WrittenMemory.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        ClusterClient? lookup;
        lock (_lookupLock)
        {
            _disposed = true;
            (lookup, _lookup) = (_lookup, null);
        }

        if (lookup is not null)
        {
            await lookup.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<CreateTopicsResponse> CreateAsync(CreateTopicsRequest request, short version, CancellationToken cancellationToken)
    {
        var existing = await TopicsAsync(cancellationToken).ConfigureAwait(false);
        var named = CountNames(request.Topics, static t => t.Name);
        var results = new CreateTopicsResponse.CreatableTopicResult[request.Topics.Length];
        var created = false;
        for (var i = 0; i < results.Length; i++)
        {
            var topic = request.Topics[i];
            var (error, message, partitions, replicationFactor) = Check(topic, named, existing);
            if (error == ErrorCode.None && !request.ValidateOnly)
            {
                error = cluster.TryCreateTopic(topic.Name, partitions, replicationFactor);
                message = error == ErrorCode.None ? null : "The embedded cluster could not create the topic: " + ErrorCodes.Name(error) + ".";
                created |= error == ErrorCode.None;
            }

            results[i] = error == ErrorCode.None
                ? new CreateTopicsResponse.CreatableTopicResult
                {
                    Name = topic.Name,
                    ErrorMessage = null,
                    NumPartitions = partitions,
                    ReplicationFactor = replicationFactor,
                    Configs = [], // the mock keeps no topic configurations: those asked for were ignored
                }
                : new CreateTopicsResponse.CreatableTopicResult { Name = topic.Name, ErrorCode = error, ErrorMessage = message, Configs = null };
        }

        // v7 tells each created topic's id: the cluster gave it one, which a look now shows.
        if (created && version >= 7)
        {
            var now = await TopicsAsync(cancellationToken).ConfigureAwait(false);
            foreach (var result in results)
            {
                if (result.ErrorCode == ErrorCode.None && now.TryGetValue(result.Name, out var id))
                {
                    result.TopicId = id;
                }
            }
        }

        return new CreateTopicsResponse { Topics = results };
    }

    /// <summary>Kafka's checks of one topic to create, in its order; the partitions and replication factor to create it with.</summary>
    private (ErrorCode Error, string? Message, int Partitions, short ReplicationFactor) Check(
        CreateTopicsRequest.CreatableTopic topic, Dictionary<string, int> named, Dictionary<string, Guid> existing)
    {
        var name = topic.Name;
        if (named[name] > 1)
        {
            return Refused(ErrorCode.InvalidRequest, "Duplicate topic name.");
        }

        if (InvalidName(name) is { } invalid)
        {
            return Refused(ErrorCode.InvalidTopicException, invalid);
        }

        if (existing.ContainsKey(name))
        {
            return Refused(ErrorCode.TopicAlreadyExists, "Topic '" + name + "' already exists.");
        }

        // Kafka's metric names turn '.' into '_': two topics that differ only there would share them.
        var collisionKey = name.Replace('.', '_');
        foreach (var other in existing.Keys)
        {
            if (other.Replace('.', '_') == collisionKey)
            {
                return Refused(ErrorCode.InvalidTopicException, "Topic '" + name + "' collides with existing topic: " + other);
            }
        }

        if (topic.Assignments.Length > 0)
        {
            return topic.NumPartitions != -1 || topic.ReplicationFactor != -1
                ? Refused(ErrorCode.InvalidRequest, "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot be used at the same time.")
                : Refused(ErrorCode.InvalidReplicaAssignment, "The embedded cluster places replicas itself: give a partition count and a replication factor instead of an assignment.");
        }

        var partitions = topic.NumPartitions == -1 ? DefaultPartitions : topic.NumPartitions;
        if (partitions < 1)
        {
            return Refused(ErrorCode.InvalidPartitions, "Number of partitions was set to an invalid non-positive value.");
        }

        var replicationFactor = topic.ReplicationFactor == -1 ? DefaultReplicationFactor : topic.ReplicationFactor;
        if (replicationFactor < 1)
        {
            return Refused(ErrorCode.InvalidReplicationFactor, "Replication factor must be larger than 0, or -1 to use the default value.");
        }

        if (replicationFactor > cluster.BrokerCount)
        {
            return Refused(ErrorCode.InvalidReplicationFactor, "Unable to replicate the partition " + replicationFactor.ToString(CultureInfo.InvariantCulture)
                + " time(s): The target replication factor of " + replicationFactor.ToString(CultureInfo.InvariantCulture) + " cannot be reached because only "
                + cluster.BrokerCount.ToString(CultureInfo.InvariantCulture) + " broker(s) are registered.");
        }

        return (ErrorCode.None, null, partitions, replicationFactor);
    }

    private static (ErrorCode Error, string? Message, int Partitions, short ReplicationFactor) Refused(ErrorCode error, string message) => (error, message, -1, -1);

    private async Task<DeleteTopicsResponse> DeleteAsync(DeleteTopicsRequest request, short version, CancellationToken cancellationToken)
    {
        // v4-5 name topics in TopicNames; v6 in Topics, each by name or (name null) by id.
        var wanted = version >= 6 ? request.Topics : Array.ConvertAll(request.TopicNames, static n => new DeleteTopicsRequest.DeleteTopicState { Name = n });
        var existing = version >= 6 ? await TopicsAsync(cancellationToken).ConfigureAwait(false) : null;
        var named = CountNames(wanted, static t => t.Name);
        var ids = CountIds(wanted);
        var results = new DeleteTopicsResponse.DeletableTopicResult[wanted.Length];
        for (var i = 0; i < wanted.Length; i++)
        {
            var topic = wanted[i];
            var result = new DeleteTopicsResponse.DeletableTopicResult { Name = topic.Name, TopicId = topic.TopicId };
            results[i] = result;
            if (topic.Name is not null && topic.TopicId != Guid.Empty)
            {
                (result.ErrorCode, result.ErrorMessage) = (ErrorCode.InvalidRequest, "Both the topic name and the topic id were set.");
                continue;
            }

            if (topic.Name is null)
            {
                if (ids[topic.TopicId] > 1)
                {
                    (result.ErrorCode, result.ErrorMessage) = (ErrorCode.InvalidRequest, "Duplicate topic id.");
                    continue;
                }

                result.Name = NameOf(existing!, topic.TopicId);
                if (result.Name is null)
                {
                    (result.ErrorCode, result.ErrorMessage) = (ErrorCode.UnknownTopicId, "This server does not host this topic ID.");
                    continue;
                }
            }
            else if (named[topic.Name] > 1)
            {
                (result.ErrorCode, result.ErrorMessage) = (ErrorCode.InvalidRequest, "Duplicate topic name.");
                continue;
            }
            else if (existing is not null && existing.TryGetValue(topic.Name, out var id))
            {
                result.TopicId = id;
            }

            result.ErrorCode = cluster.TryDeleteTopic(result.Name!);
            result.ErrorMessage = result.ErrorCode == ErrorCode.None ? null : ErrorCodes.Description(result.ErrorCode);
        }

        return new DeleteTopicsResponse { Responses = results };
    }

    /// <summary>Every topic of the cluster and its id, read with a Metadata request for all topics (which creates none).</summary>
    private async Task<Dictionary<string, Guid>> TopicsAsync(CancellationToken cancellationToken)
    {
        try
        {
            var connection = await Lookup().GetAnyAsync(cancellationToken).ConfigureAwait(false);
            var response = await connection.SendAsync<MetadataRequest, MetadataResponse>(
                new MetadataRequest { Topics = null, AllowAutoTopicCreation = false }, cancellationToken).ConfigureAwait(false);
            var topics = new Dictionary<string, Guid>(response.Topics.Length, StringComparer.Ordinal);
            foreach (var topic in response.Topics)
            {
                if (topic.Name is not null && topic.ErrorCode == ErrorCode.None)
                {
                    topics[topic.Name] = topic.TopicId;
                }
            }

            return topics;
        }
        catch (KafkaException ex)
        {
            throw new IOException("The proxy could not read the embedded cluster's topics: " + ex.Message, ex);
        }
    }

    private ClusterClient Lookup()
    {
        lock (_lookupLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _lookup ??= new ClusterClient(new KafkaAdminOptions { BootstrapServers = cluster.BootstrapServers, ClientId = "messaging-proxy-topics" });
        }
    }

    private static string? NameOf(Dictionary<string, Guid> topics, Guid id)
    {
        foreach (var (name, topicId) in topics)
        {
            if (topicId == id)
            {
                return name;
            }
        }

        return null;
    }

    private static Dictionary<string, int> CountNames<T>(T[] topics, Func<T, string?> name)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var topic in topics)
        {
            if (name(topic) is { } n)
            {
                counts[n] = counts.GetValueOrDefault(n) + 1;
            }
        }

        return counts;
    }

    private static Dictionary<Guid, int> CountIds(DeleteTopicsRequest.DeleteTopicState[] topics)
    {
        var counts = new Dictionary<Guid, int>();
        foreach (var topic in topics)
        {
            if (topic.Name is null)
            {
                counts[topic.TopicId] = counts.GetValueOrDefault(topic.TopicId) + 1;
            }
        }

        return counts;
    }

    /// <summary>Why Kafka refuses <paramref name="name"/> as a topic name (the broker's message), or null for a legal one.</summary>
    private static string? InvalidName(string name) =>
        TopicNames.Problem(name) is { } problem ? "Topic name \"" + name + "\" is illegal: " + problem : null;
}
