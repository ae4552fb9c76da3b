using BenchmarkDotNet.Attributes;
using Messaging.Protocol;
using Messaging.Protocol.Messages;

namespace Messaging.Benchmarks;

/// <summary>
/// The two protocol hot paths: encoding a Produce v11 request frame (10 topics x 10 partitions, 16 KiB of record
/// bytes each, copied into the frame) and decoding a Fetch v17 response of the same shape (record bytes sliced, not
/// copied). Reported per partition (OperationsPerInvoke = 100).
/// </summary>
[MemoryDiagnoser]
public class ProtocolBenchmarks
{
    private const int Topics = 10;
    private const int PartitionsPerTopic = 10;
    private const int Partitions = Topics * PartitionsPerTopic;

    private readonly ContiguousBufferWriter _output = new(Partitions * 17 * 1024);
    private ProduceRequest _produce = null!;
    private byte[] _fetchResponse = [];

    [GlobalSetup]
    public void Setup()
    {
        byte[] records = new byte[16 * 1024];
        new Random(42).NextBytes(records);
        var produceTopics = new ProduceRequest.TopicProduceData[Topics];
        var fetchTopics = new FetchResponse.FetchableTopicResponse[Topics];
        for (int t = 0; t < Topics; t++)
        {
            var produceParts = new ProduceRequest.PartitionProduceData[PartitionsPerTopic];
            var fetchParts = new FetchResponse.PartitionData[PartitionsPerTopic];
            for (int p = 0; p < PartitionsPerTopic; p++)
            {
                produceParts[p] = new ProduceRequest.PartitionProduceData { Index = p, Records = records };
                fetchParts[p] = new FetchResponse.PartitionData { PartitionIndex = p, HighWatermark = 1_000_000, Records = records };
            }

            produceTopics[t] = new ProduceRequest.TopicProduceData { Name = "topic-" + t, PartitionData = produceParts };
            fetchTopics[t] = new FetchResponse.FetchableTopicResponse { TopicId = Guid.NewGuid(), Partitions = fetchParts };
        }

        _produce = new ProduceRequest { Acks = -1, TimeoutMs = 30_000, TopicData = produceTopics };
        using var fetchOutput = new ContiguousBufferWriter();
        KafkaFrames.WriteResponse(fetchOutput, new FetchResponse { Responses = fetchTopics }, 17, correlationId: 1);
        _fetchResponse = fetchOutput.WrittenSpan[4..].ToArray();
    }

    [GlobalCleanup]
    public void Cleanup() => _output.Dispose();

    [Benchmark(OperationsPerInvoke = Partitions)]
    public int EncodeProduceV11()
    {
        _output.Clear();
        return KafkaFrames.WriteRequest(_output, _produce, 11, correlationId: 7, clientId: "bench");
    }

    [Benchmark(OperationsPerInvoke = Partitions)]
    public int DecodeFetchV17()
    {
        FetchResponse response = KafkaFrames.ReadResponse<FetchResponse>(_fetchResponse, 17, null, out int correlationId);
        return response.Responses.Length + correlationId;
    }
}
