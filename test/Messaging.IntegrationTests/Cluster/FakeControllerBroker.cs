using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Messaging.IntegrationTests.Support;
using Messaging.Protocol;
using Messaging.Protocol.Messages;

namespace Messaging.IntegrationTests.Cluster;

/// <summary>
/// A one-broker Kafka on loopback that implements what the embedded broker lacks for the admin client: CreateTopics
/// and DeleteTopics, with real topic state (duplicates fail, deleted topics disappear from Metadata), validate-only,
/// and NOT_CONTROLLER injectable for the next N controller requests. Encoded and decoded with our own message types.
/// </summary>
internal sealed class FakeControllerBroker : FakeKafkaBroker
{
    private readonly ConcurrentDictionary<string, CreateTopicsRequest.CreatableTopic> _topics = new(StringComparer.Ordinal);
    private int _notControllerLeft;

    private FakeControllerBroker() => StartAccepting();

    public IReadOnlyDictionary<string, CreateTopicsRequest.CreatableTopic> Topics => _topics;

    /// <summary>Controller requests seen (CreateTopics and DeleteTopics), including refused ones.</summary>
    public int ControllerRequests;

    public static FakeControllerBroker Start() => new();

    public void FailNextControllerRequests(int count) => Volatile.Write(ref _notControllerLeft, count);

    /// <summary>The broker's auto.create.topics.enable: a Metadata request that allows it creates the missing topics it names.</summary>
    public bool AutoCreateTopics { get; set; }

    /// <summary>The topic names of every DeleteTopics request, as sent.</summary>
    public ConcurrentQueue<string[]> DeleteRequests { get; } = new();

    /// <summary>How long the CreateTopics answer is held back once the topics are made (a slow controller).</summary>
    public TimeSpan CreateDelay { get; set; }

    /// <summary>Topics the controller acts on but leaves out of its CreateTopics and DeleteTopics responses (a broker bug).</summary>
    public ConcurrentDictionary<string, bool> Unanswered { get; } = new(StringComparer.Ordinal);

    protected override TimeSpan Answer(byte[] frame, ContiguousBufferWriter output)
    {
        var apiKey = (ApiKey)BinaryPrimitives.ReadInt16BigEndian(frame);
        var version = BinaryPrimitives.ReadInt16BigEndian(frame.AsSpan(2));
        switch (apiKey)
        {
            case ApiKey.ApiVersions:
            {
                var request = KafkaFrames.ReadRequest<ApiVersionsRequest>(frame, null, out var header);
                _ = request;
                var response = new ApiVersionsResponse
                {
                    ApiKeys =
                    [
                        new() { ApiKey = ApiKey.ApiVersions, MinVersion = 0, MaxVersion = 4 },
                        new() { ApiKey = ApiKey.Metadata, MinVersion = 9, MaxVersion = 12 },
                        new() { ApiKey = ApiKey.CreateTopics, MinVersion = 5, MaxVersion = 7 },
                        new() { ApiKey = ApiKey.DeleteTopics, MinVersion = 4, MaxVersion = 6 },
                    ],
                };
                KafkaFrames.WriteResponse(output, response, version, header.CorrelationId);
                break;
            }

            case ApiKey.Metadata:
            {
                var request = KafkaFrames.ReadRequest<MetadataRequest>(frame, null, out var header);
                var topics = new List<MetadataResponse.MetadataResponseTopic>();
                foreach (var wanted in request.Topics ?? [])
                {
                    if (request.AllowAutoTopicCreation && AutoCreateTopics)
                    {
                        // As a broker with auto.create.topics.enable: a Metadata request naming a missing topic creates it.
                        _topics.TryAdd(wanted.Name!, new CreateTopicsRequest.CreatableTopic { Name = wanted.Name!, NumPartitions = 1, ReplicationFactor = 1 });
                    }

                    topics.Add(_topics.TryGetValue(wanted.Name!, out var topic)
                        ? Describe(topic)
                        : new MetadataResponse.MetadataResponseTopic { Name = wanted.Name, ErrorCode = ErrorCode.UnknownTopicOrPartition });
                }

                if (request.Topics is null)
                {
                    foreach (var topic in _topics.Values)
                    {
                        topics.Add(Describe(topic));
                    }
                }

                var response = new MetadataResponse
                {
                    Brokers = [new() { NodeId = 1, Host = "127.0.0.1", Port = Port }],
                    ClusterId = "fake-controller",
                    ControllerId = 1,
                    Topics = [.. topics],
                };
                KafkaFrames.WriteResponse(output, response, version, header.CorrelationId);
                break;
            }

            case ApiKey.CreateTopics:
            {
                var request = KafkaFrames.ReadRequest<CreateTopicsRequest>(frame, null, out var header);
                Interlocked.Increment(ref ControllerRequests);
                var refuse = Interlocked.Decrement(ref _notControllerLeft) >= 0;
                var results = new List<CreateTopicsResponse.CreatableTopicResult>();
                foreach (var topic in request.Topics)
                {
                    var error = refuse ? ErrorCode.NotController
                        : topic.NumPartitions == 0 ? ErrorCode.InvalidPartitions
                        : _topics.ContainsKey(topic.Name) ? ErrorCode.TopicAlreadyExists
                        : ErrorCode.None;
                    if (error == ErrorCode.None && !request.ValidateOnly)
                    {
                        _topics[topic.Name] = topic;
                    }

                    if (Unanswered.ContainsKey(topic.Name))
                    {
                        continue;
                    }

                    results.Add(new() { Name = topic.Name, ErrorCode = error, ErrorMessage = error == ErrorCode.None ? null : "fake broker: " + error, NumPartitions = topic.NumPartitions });
                }

                KafkaFrames.WriteResponse(output, new CreateTopicsResponse { Topics = [.. results] }, version, header.CorrelationId);
                return CreateDelay;
            }

            case ApiKey.DeleteTopics:
            {
                var request = KafkaFrames.ReadRequest<DeleteTopicsRequest>(frame, null, out var header);
                Interlocked.Increment(ref ControllerRequests);
                var refuse = Interlocked.Decrement(ref _notControllerLeft) >= 0;
                var names = version >= 6 ? request.Topics.Select(t => t.Name!).ToArray() : request.TopicNames;
                DeleteRequests.Enqueue(names);
                // As Kafka's controller does: a name given twice is an invalid request for that name; the others go on.
                var duplicates = names.GroupBy(n => n, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet(StringComparer.Ordinal);
                var results = new List<DeleteTopicsResponse.DeletableTopicResult>();
                foreach (var name in names.Distinct(StringComparer.Ordinal))
                {
                    var error = refuse ? ErrorCode.NotController
                        : duplicates.Contains(name) ? ErrorCode.InvalidRequest
                        : _topics.TryRemove(name, out _) ? ErrorCode.None : ErrorCode.UnknownTopicOrPartition;
                    if (!Unanswered.ContainsKey(name))
                    {
                        results.Add(new() { Name = name, ErrorCode = error });
                    }
                }

                KafkaFrames.WriteResponse(output, new DeleteTopicsResponse { Responses = [.. results] }, version, header.CorrelationId);
                break;
            }

            default:
                throw new IOException("The fake controller does not speak " + apiKey);
        }

        return TimeSpan.Zero;
    }

    private static MetadataResponse.MetadataResponseTopic Describe(CreateTopicsRequest.CreatableTopic topic)
    {
        var count = topic.NumPartitions < 0 ? 3 : topic.NumPartitions; // -1: the broker default
        var partitions = new MetadataResponse.MetadataResponsePartition[count];
        for (var p = 0; p < count; p++)
        {
            partitions[p] = new() { PartitionIndex = p, LeaderId = 1, LeaderEpoch = 0, ReplicaNodes = [1], IsrNodes = [1] };
        }

        return new MetadataResponse.MetadataResponseTopic { Name = topic.Name, TopicId = Guid.NewGuid(), Partitions = partitions };
    }
}
