using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using Messaging.IntegrationTests.Support;
using Messaging.Protocol;
using Messaging.Protocol.Messages;

namespace Messaging.IntegrationTests.Producer;

/// <summary>
/// A one-broker, one-partition fake that accepts every Produce, can ask for a throttle in its first responses
/// (the embedded broker cannot throttle) and can answer every Produce after a delay (one at a time, in order):
/// records when each Produce arrived and when each answer was written.
/// </summary>
internal sealed class FakeProduceBroker : FakeKafkaBroker
{
    public const string Topic = "fake-produce";

    private readonly int _throttleMs;
    private readonly TimeSpan _produceDelay;
    private int _throttledLeft;
    private long _nextOffset;

    private FakeProduceBroker(int throttleMs, int throttledResponses, TimeSpan produceDelay)
    {
        _throttleMs = throttleMs;
        _throttledLeft = throttledResponses;
        _produceDelay = produceDelay;
        StartAccepting();
    }

    /// <summary>Stopwatch timestamps: when each Produce request arrived, and when its answer was built.</summary>
    public ConcurrentQueue<(long Arrived, long Answered, int ThrottleMs)> Produces { get; } = new();

    public static FakeProduceBroker Start(int throttleMs, int throttledResponses, TimeSpan produceDelay = default) => new(throttleMs, throttledResponses, produceDelay);

    protected override TimeSpan Answer(byte[] frame, ContiguousBufferWriter output)
    {
        var apiKey = (ApiKey)BinaryPrimitives.ReadInt16BigEndian(frame);
        var version = BinaryPrimitives.ReadInt16BigEndian(frame.AsSpan(2));
        switch (apiKey)
        {
            case ApiKey.ApiVersions:
            {
                _ = KafkaFrames.ReadRequest<ApiVersionsRequest>(frame, null, out var header);
                var response = new ApiVersionsResponse
                {
                    ApiKeys =
                    [
                        new() { ApiKey = ApiKey.ApiVersions, MinVersion = 0, MaxVersion = 4 },
                        new() { ApiKey = ApiKey.Metadata, MinVersion = 9, MaxVersion = 12 },
                        new() { ApiKey = ApiKey.Produce, MinVersion = 9, MaxVersion = 11 },
                    ],
                };
                KafkaFrames.WriteResponse(output, response, version, header.CorrelationId);
                break;
            }

            case ApiKey.Metadata:
            {
                _ = KafkaFrames.ReadRequest<MetadataRequest>(frame, null, out var header);
                var response = new MetadataResponse
                {
                    Brokers = [new() { NodeId = 1, Host = "127.0.0.1", Port = Port }],
                    ClusterId = "fake-produce",
                    ControllerId = 1,
                    Topics =
                    [
                        new()
                        {
                            Name = Topic,
                            TopicId = Guid.NewGuid(),
                            Partitions = [new() { PartitionIndex = 0, LeaderId = 1, LeaderEpoch = 0, ReplicaNodes = [1], IsrNodes = [1] }],
                        },
                    ],
                };
                KafkaFrames.WriteResponse(output, response, version, header.CorrelationId);
                break;
            }

            case ApiKey.Produce:
            {
                var arrived = Stopwatch.GetTimestamp();
                var request = KafkaFrames.ReadRequest<ProduceRequest>(frame, null, out var header);
                var throttle = Interlocked.Decrement(ref _throttledLeft) >= 0 ? _throttleMs : 0;
                var topics = new List<ProduceResponse.TopicProduceResponse>();
                foreach (var topic in request.TopicData)
                {
                    var partitions = new List<ProduceResponse.PartitionProduceResponse>();
                    foreach (var partition in topic.PartitionData)
                    {
                        partitions.Add(new() { Index = partition.Index, ErrorCode = ErrorCode.None, BaseOffset = Interlocked.Increment(ref _nextOffset) - 1 });
                    }

                    topics.Add(new() { Name = topic.Name, PartitionResponses = [.. partitions] });
                }

                KafkaFrames.WriteResponse(output, new ProduceResponse { Responses = [.. topics], ThrottleTimeMs = throttle }, version, header.CorrelationId);
                Produces.Enqueue((arrived, Stopwatch.GetTimestamp(), throttle));
                return _produceDelay;
            }

            default:
                throw new InvalidOperationException("The fake produce broker does not answer " + apiKey);
        }

        return TimeSpan.Zero;
    }
}
