using Messaging.Cluster;
using Messaging.Protocol.Messages;

namespace Messaging.IntegrationTests.Consumer;

/// <summary>Stores hand-made record batches on a broker as they are (Produce with our own bytes), for bad-input tests.</summary>
internal static class RawProducer
{
    public static async Task<long> ProduceAsync(string bootstrap, string topic, int partition, byte[] records, CancellationToken cancellationToken)
    {
        await using var client = new ClusterClient(new KafkaClientOptions { BootstrapServers = bootstrap, ClientId = "raw-producer" });
        var metadata = await client.Metadata.EnsureTopicsAsync([topic], cancellationToken);
        Assert.True(metadata.TryGetLeader(topic, partition, out var leader, out _));
        var connection = await client.Connections.GetAsync(leader, cancellationToken);
        var request = new ProduceRequest
        {
            Acks = -1,
            TimeoutMs = 10_000,
            TopicData = [new ProduceRequest.TopicProduceData { Name = topic, PartitionData = [new ProduceRequest.PartitionProduceData { Index = partition, Records = records }] }],
        };
        var response = await connection.SendAsync<ProduceRequest, ProduceResponse>(request, cancellationToken);
        var answer = response.Responses[0].PartitionResponses[0];
        Assert.Equal(ErrorCode.None, answer.ErrorCode);
        return answer.BaseOffset;
    }
}
