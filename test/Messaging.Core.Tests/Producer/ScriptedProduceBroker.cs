using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Messaging.Compression;
using Messaging.IntegrationTests.Support;
using Messaging.Protocol;
using Messaging.Protocol.Messages;

namespace Messaging.Core.Tests.Producer;

/// <summary>
/// A one-broker fake on loopback for producer tests: answers ApiVersions, Metadata (topic <see cref="Topic"/> with
/// its partitions led by this broker), InitProducerId and Produce. Each partition's answer to a Produce comes from
/// <see cref="OnProduce"/>; <see cref="Drop"/> closes the connection instead of answering. Records every request.
/// </summary>
internal sealed class ScriptedProduceBroker : FakeKafkaBroker
{
    public const string Topic = "scripted";

    /// <summary>A second topic (one partition), in the metadata only while <see cref="LateTopicListed"/>.</summary>
    public const string LateTopic = "scripted-late";

    /// <summary>Returned by <see cref="OnProduce"/>: close the connection without answering the request.</summary>
    public const ErrorCode Drop = (ErrorCode)short.MinValue;

    /// <summary>Returned by <see cref="OnProduce"/>: never answer the request (the connection stays open).</summary>
    public const ErrorCode Hold = (ErrorCode)(short.MinValue + 2);

    /// <summary>Returned by <see cref="OnProduce"/>: write the batch (as a broker would), then close the connection without answering.</summary>
    public const ErrorCode WriteThenDrop = (ErrorCode)(short.MinValue + 1);

    /// <summary>Returned by <see cref="OnProduce"/>: answer with a Produce response cut short after its topic count (a body that does not decode).</summary>
    public const ErrorCode Garbled = (ErrorCode)(short.MinValue + 3);

    private long _nextOffset;

    public ScriptedProduceBroker(int partitions = 1)
    {
        Partitions = partitions;
        StartAccepting();
    }

    /// <summary>How many partitions Metadata answers give <see cref="Topic"/> (raise it to grow the topic).</summary>
    public int Partitions { get; set; }

    /// <summary>A loopback port nobody listens on: node 2's, a broker that is down.</summary>
    public int DownPort { get; } = ClosedPort();

    /// <summary>Decides the answer to the n-th InitProducerId (1-based): <see cref="ErrorCode.None"/> (the default: producer id 4000, epoch 0), another error, or <see cref="Hold"/>.</summary>
    public Func<int, ErrorCode> OnInitProducerId { get; set; } = static _ => ErrorCode.None;

    /// <summary>Decides each partition's answer to a Produce (default: accept).</summary>
    public Func<ProducedBatch, ErrorCode> OnProduce { get; set; } = static _ => ErrorCode.None;

    /// <summary>
    /// The leader the n-th Metadata answer (1-based) names for every partition: this broker (node 1, the default) or
    /// node 2, which the metadata lists at a loopback port nobody listens on (a broker that is down).
    /// </summary>
    public Func<int, int> LeaderInMetadata { get; set; } = static _ => 1;

    /// <summary>
    /// The node id Metadata answers give this broker (1 by default; a leader of 1 from <see cref="LeaderInMetadata"/>
    /// means this broker under it): change it for a broker replaced by one with a new id at the same address.
    /// </summary>
    public int NodeId { get; set; } = 1;

    /// <summary>A partition of <see cref="Topic"/> that Metadata answers list without a leader (LEADER_NOT_AVAILABLE), or -1 for none.</summary>
    public int LeaderlessPartition { get; set; } = -1;

    /// <summary>An error Metadata answers give <see cref="Topic"/> (listed then without partitions), or <see cref="ErrorCode.None"/>.</summary>
    public ErrorCode TopicError { get; set; }

    /// <summary>Whether Metadata answers give topic ids (a new one in every answer), or the zero id of a broker that has none.</summary>
    public bool TopicIds { get; set; } = true;

    /// <summary>Whether Metadata answers list <see cref="LateTopic"/> (when the request asks for it, or for every topic).</summary>
    public bool LateTopicListed { get; set; }

    /// <summary>The topics each Metadata request named, in arrival order (null: every topic).</summary>
    public ConcurrentQueue<string[]?> MetadataTopics { get; } = new();

    /// <summary>Every request, in arrival order.</summary>
    public ConcurrentQueue<ApiKey> Requests { get; } = new();

    /// <summary>Every batch of every Produce, in arrival order.</summary>
    public ConcurrentQueue<ProducedBatch> Batches { get; } = new();

    /// <summary>The value of every record of every Produce (uncompressed batches), in arrival order.</summary>
    public ConcurrentQueue<byte[]> Values { get; } = new();

    /// <summary>The batches written to the log, in offset order (with <see cref="EnforceSequences"/>, duplicates are not written again).</summary>
    public ConcurrentQueue<ProducedBatch> Written { get; } = new();

    /// <summary>The value of every record written to the log (uncompressed or compressed batches), in offset order.</summary>
    public ConcurrentQueue<byte[]> WrittenValues { get; } = new();

    /// <summary>Checks producer ids, epochs and sequences as a Kafka broker does (duplicates answered with their first offset, gaps with OUT_OF_ORDER_SEQUENCE_NUMBER).</summary>
    public bool EnforceSequences { get; init; }

    /// <summary>Per partition: the producer's epoch, the next sequence expected, and the last five batches written (for duplicates).</summary>
    private readonly Dictionary<int, (short Epoch, int Next, List<(ProducedBatch Batch, long Offset)> Recent)> _sequences = [];

    public int Count(ApiKey apiKey) => Requests.Count(k => k == apiKey);

    /// <summary>
    /// A producer of <see cref="Topic"/> whose buffer.memory (64 KiB, batches of 16 KiB) is full of batches for
    /// <paramref name="partition"/> this broker never answers (from now on it holds every Produce): the next record
    /// that needs a new batch waits for memory. Every wait and timeout is far beyond a test's; closing does not wait.
    /// </summary>
    public async Task<KafkaProducer> ProducerWithFullMemoryAsync(int partition, CancellationToken cancellationToken)
    {
        OnProduce = static _ => Hold;
        var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = BootstrapServers,
            MaxBlock = TimeSpan.FromMinutes(5),
            DeliveryTimeout = TimeSpan.FromMinutes(10),
            RequestTimeout = TimeSpan.FromMinutes(5),
            Linger = TimeSpan.Zero,
            BatchSize = 16 * 1024,
            MaxRequestSize = 16 * 1024,
            BufferMemory = 64 * 1024,
            CloseTimeout = TimeSpan.Zero,
        });
        try
        {
            await producer.Core.Topics.EnsureTopicAsync(Topic, TimeSpan.FromSeconds(20), cancellationToken);
            while (producer.TryProduce(Topic, new ProducerRecord { Value = new byte[4000], Partition = partition }, 0, static (in DeliveryResult _, ProduceException? _, int _) => { }))
            {
            }

            return producer;
        }
        catch
        {
            await producer.DisposeAsync();
            throw;
        }
    }

    protected override TimeSpan Answer(byte[] frame, ContiguousBufferWriter output) => Script(frame, output) switch
    {
        Drop => CloseConnection,
        Hold => NeverAnswer,
        _ => TimeSpan.Zero,
    };

    /// <summary>Writes the answer to one request; returns <see cref="ErrorCode.None"/>, or <see cref="Drop"/> or <see cref="Hold"/> when nothing is to be sent.</summary>
    private ErrorCode Script(byte[] frame, ContiguousBufferWriter output)
    {
        var apiKey = (ApiKey)BinaryPrimitives.ReadInt16BigEndian(frame);
        var version = BinaryPrimitives.ReadInt16BigEndian(frame.AsSpan(2));
        Requests.Enqueue(apiKey);
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
                        new() { ApiKey = ApiKey.InitProducerId, MinVersion = 2, MaxVersion = 5 },
                    ],
                };
                KafkaFrames.WriteResponse(output, response, version, header.CorrelationId);
                return ErrorCode.None;
            }

            case ApiKey.Metadata:
            {
                var request = KafkaFrames.ReadRequest<MetadataRequest>(frame, null, out var header);
                var named = request.Topics?.Select(t => t.Name ?? "").ToArray();
                MetadataTopics.Enqueue(named);
                var nodeId = NodeId;
                var leader = LeaderInMetadata(Count(ApiKey.Metadata));
                leader = leader == 1 ? nodeId : leader;
                var partitions = new MetadataResponse.MetadataResponsePartition[Partitions];
                for (var p = 0; p < partitions.Length; p++)
                {
                    partitions[p] = p == LeaderlessPartition
                        ? new() { PartitionIndex = p, ErrorCode = ErrorCode.LeaderNotAvailable, LeaderId = -1, LeaderEpoch = 0, ReplicaNodes = [1, 2], IsrNodes = [] }
                        : new() { PartitionIndex = p, LeaderId = leader, LeaderEpoch = 0, ReplicaNodes = [1, 2], IsrNodes = [1, 2] };
                }

                var response = new MetadataResponse
                {
                    Brokers = [new() { NodeId = nodeId, Host = "127.0.0.1", Port = Port }, new() { NodeId = 2, Host = "127.0.0.1", Port = DownPort }],
                    ClusterId = "scripted",
                    ControllerId = nodeId,
                    Topics = TopicError != ErrorCode.None
                        ? [new() { Name = Topic, ErrorCode = TopicError, Partitions = [] }]
                        : LateTopicListed && (named is null || named.Contains(LateTopic))
                        ? [new() { Name = Topic, TopicId = NewTopicId(), Partitions = partitions }, new() { Name = LateTopic, TopicId = NewTopicId(), Partitions = [partitions[0]] }]
                        : [new() { Name = Topic, TopicId = NewTopicId(), Partitions = partitions }],
                };
                KafkaFrames.WriteResponse(output, response, version, header.CorrelationId);
                return ErrorCode.None;
            }

            case ApiKey.InitProducerId:
            {
                _ = KafkaFrames.ReadRequest<InitProducerIdRequest>(frame, null, out var header);
                var code = OnInitProducerId(Count(ApiKey.InitProducerId));
                if (code is Drop or Hold)
                {
                    return code;
                }

                KafkaFrames.WriteResponse(output, new InitProducerIdResponse { ErrorCode = code, ProducerId = code == ErrorCode.None ? 4000 : -1, ProducerEpoch = code == ErrorCode.None ? (short)0 : (short)-1 }, version, header.CorrelationId);
                return ErrorCode.None;
            }

            case ApiKey.Produce:
            {
                var request = KafkaFrames.ReadRequest<ProduceRequest>(frame, null, out var header);
                var topics = new List<ProduceResponse.TopicProduceResponse>();
                foreach (var topic in request.TopicData)
                {
                    var partitions = new List<ProduceResponse.PartitionProduceResponse>();
                    foreach (var partition in topic.PartitionData)
                    {
                        var batch = ProducedBatch.Read(partition.Index, partition.Records!.Value.Span);
                        Batches.Enqueue(batch);
                        var values = RecordValues(partition.Records.Value);
                        var code = OnProduce(batch);
                        if (code is Drop or Hold)
                        {
                            return code;
                        }

                        if (code == Garbled)
                        {
                            // Size 6: the correlation id, the header's empty tagged fields, and a count of 5 topics that never come.
                            var garbled = output.GetSpan(10);
                            BinaryPrimitives.WriteInt32BigEndian(garbled, 6);
                            BinaryPrimitives.WriteInt32BigEndian(garbled[4..], header.CorrelationId);
                            garbled[8] = 0;
                            garbled[9] = 6;
                            output.Advance(10);
                            return ErrorCode.None;
                        }

                        var offset = -1L;
                        if (code is ErrorCode.None or WriteThenDrop)
                        {
                            var outcome = Write(batch, values, out offset);
                            if (code == WriteThenDrop)
                            {
                                return Drop;
                            }

                            code = outcome;
                        }

                        partitions.Add(new() { Index = partition.Index, ErrorCode = code, BaseOffset = offset });
                    }

                    topics.Add(new() { Name = topic.Name, PartitionResponses = [.. partitions] });
                }

                KafkaFrames.WriteResponse(output, new ProduceResponse { Responses = [.. topics] }, version, header.CorrelationId);
                return ErrorCode.None;
            }

            default:
                throw new InvalidOperationException("The scripted broker does not answer " + apiKey);
        }
    }

    private Guid NewTopicId() => TopicIds ? Guid.NewGuid() : Guid.Empty;

    private static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private ErrorCode Write(ProducedBatch batch, List<byte[]> values, out long offset)
    {
        lock (_sequences)
        {
            offset = -1;
            if (EnforceSequences && batch.ProducerId >= 0)
            {
                if (_sequences.TryGetValue(batch.Partition, out var state))
                {
                    if (batch.Epoch < state.Epoch)
                    {
                        return ErrorCode.InvalidProducerEpoch;
                    }

                    if (batch.Epoch == state.Epoch)
                    {
                        foreach (var (recent, at) in state.Recent)
                        {
                            if (recent.BaseSequence == batch.BaseSequence && recent.Count == batch.Count)
                            {
                                offset = at; // a retry of a batch already written: its first offset, not written again
                                return ErrorCode.None;
                            }
                        }

                        if (batch.BaseSequence != state.Next)
                        {
                            return ErrorCode.OutOfOrderSequenceNumber;
                        }
                    }
                    else if (batch.BaseSequence != 0)
                    {
                        return ErrorCode.OutOfOrderSequenceNumber; // a new epoch starts at sequence 0
                    }
                }
                else
                {
                    state = (batch.Epoch, batch.BaseSequence, []);
                }

                if (batch.Epoch != state.Epoch)
                {
                    state = (batch.Epoch, 0, []);
                }

                offset = Interlocked.Add(ref _nextOffset, batch.Count) - batch.Count;
                state.Recent.Add((batch, offset));
                if (state.Recent.Count > 5)
                {
                    state.Recent.RemoveAt(0);
                }

                _sequences[batch.Partition] = (state.Epoch, batch.BaseSequence + batch.Count, state.Recent);
            }
            else
            {
                offset = Interlocked.Add(ref _nextOffset, batch.Count) - batch.Count;
            }

            Written.Enqueue(batch);
            foreach (var value in values)
            {
                WrittenValues.Enqueue(value);
            }

            return ErrorCode.None;
        }
    }

    /// <summary>Adds the values of uncompressed batches to <see cref="Values"/>; returns the values of every batch, compressed or not.</summary>
    private List<byte[]> RecordValues(ReadOnlyMemory<byte> records)
    {
        var values = new List<byte[]>();
        var reader = new Messaging.Records.RecordBatchReader(records);
        while (reader.TryReadNext(out var batch))
        {
            using var decompressed = new DecompressionBuffer();
            var batchRecords = batch.GetRecords(decompressed);
            while (batchRecords.TryRead(out var record))
            {
                values.Add(record.Value.ToArray());
                if (batch.Compression == CompressionType.None)
                {
                    Values.Enqueue(record.Value.ToArray()); // values of uncompressed batches only
                }
            }
        }

        return values;
    }

    /// <summary>One partition's batch of a Produce: the header fields the producer stamped, and its size in bytes.</summary>
    internal readonly record struct ProducedBatch(int Partition, long ProducerId, short Epoch, int BaseSequence, int Count, int Size)
    {
        public static ProducedBatch Read(int partition, ReadOnlySpan<byte> records) => new(
            partition,
            BinaryPrimitives.ReadInt64BigEndian(records[43..]),
            BinaryPrimitives.ReadInt16BigEndian(records[51..]),
            BinaryPrimitives.ReadInt32BigEndian(records[53..]),
            BinaryPrimitives.ReadInt32BigEndian(records[57..]),
            records.Length);
    }
}
