using Confluent.Kafka;
using Messaging.Cluster;
using Messaging.Connection;
using Messaging.Protocol;
using Messaging.Protocol.Messages;
using Messaging.Records;
using Messaging.Testing.Brokers;

namespace Messaging.IntegrationTests.Consumer;

/// <summary>
/// What the embedded broker (librdkafka's mock, 2.16) does and does not do for consumers, pinned down so a change in it
/// shows up here: one stored batch per partition per Fetch; no fetch sessions (the session id is echoed); no
/// aborted-transaction list and no last-stable-offset hold-back under read_committed (records of an open transaction
/// are served); transaction markers with CRC 0; Fetch only up to v16; ListOffsets by timestamp answers -1.
/// </summary>
public sealed class EmbeddedBrokerFetchLimitsTests(TestBrokerFixture fixture)
{
    [Fact(Timeout = 60_000)]
    public async Task The_embedded_broker_serves_transactions_without_read_committed_support()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, faultInjection: true, cancellationToken: ct); // embedded only
        var topic = TestBrokerFixture.UniqueTopicName("limits");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = broker.BootstrapServers, TransactionalId = "limits-" + Guid.NewGuid().ToString("N"), LingerMs = 1 }).Build();
        producer.InitTransactions(TimeSpan.FromSeconds(10));
        producer.BeginTransaction();
        await producer.ProduceAsync(topic, new Message<byte[], byte[]> { Value = "a1"u8.ToArray() }, ct);
        await producer.ProduceAsync(topic, new Message<byte[], byte[]> { Value = "a2"u8.ToArray() }, ct);
        producer.AbortTransaction();
        producer.BeginTransaction();
        await producer.ProduceAsync(topic, new Message<byte[], byte[]> { Value = "open"u8.ToArray() }, ct); // never committed

        await using var client = new ClusterClient(new KafkaClientOptions { BootstrapServers = broker.BootstrapServers });
        var metadata = await client.Metadata.EnsureTopicsAsync([topic], ct);
        Assert.True(metadata.TryGetLeader(topic, 0, out var leader, out var epoch));
        var connection = await client.Connections.GetAsync(leader, ct);
        short version = connection.ApiVersions.VersionFor(ApiKey.Fetch);
        Assert.Equal(16, version);

        var request = new FetchRequest
        {
            ReplicaId = -1, MaxWaitMs = 10, MinBytes = 1, MaxBytes = 1 << 20, IsolationLevel = 1, SessionId = 0, SessionEpoch = 0,
            Topics = [new FetchRequest.FetchTopic { TopicId = metadata.Topics[topic].TopicId, Partitions = [new FetchRequest.FetchPartition { Partition = 0, FetchOffset = 0, PartitionMaxBytes = 1 << 20, CurrentLeaderEpoch = epoch }] }],
        };
        var batches = new List<RecordBatch>();
        for (long offset = 0; offset < 4;)
        {
            request.Topics[0].Partitions[0].FetchOffset = offset;
            using var frame = await connection.SendAsync(request, version, TimeSpan.FromSeconds(5), ct);
            var response = ResponseDecoder.Decode<FetchResponse>(frame, version, ProtocolLimits.Default);
            Assert.Equal(0, response.SessionId); // no session was created
            var data = response.Responses[0].Partitions[0];
            Assert.Equal(4, data.HighWatermark);
            Assert.Equal(4, data.LastStableOffset); // the open transaction at offset 3 does not hold it back
            Assert.Empty(data.AbortedTransactions!); // no aborted-transaction list
            var reader = new RecordBatchReader(data.Records!.Value.ToArray(), new RecordDecoderOptions { VerifyCrc = false });
            int count = 0;
            while (reader.TryReadNext(out var batch))
            {
                batches.Add(batch);
                offset = batch.LastOffset + 1;
                count++;
            }

            Assert.Equal(1, count); // one stored batch per Fetch
        }

        Assert.Equal([false, false, true, false], batches.Select(b => b.IsControl));
        Assert.Equal(0u, batches[2].Crc); // the ABORT marker the broker wrote itself
        producer.AbortTransaction();
    }

    [Fact(Timeout = 60_000)]
    public async Task The_embedded_broker_answers_a_timestamp_lookup_with_no_offset()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, faultInjection: true, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("limits-ts");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        await ConsumerTestSupport.ProduceAsync(broker.BootstrapServers, topic, 1, 3, 10, cancellationToken: ct);
        await using var admin = new Messaging.KafkaAdminClient(new Messaging.KafkaAdminOptions { BootstrapServers = broker.BootstrapServers });
        var answer = await admin.ListOffsetsAsync([new(new TopicPartition(topic, 0), OffsetSpec.ForTimestamp(DateTimeOffset.FromUnixTimeMilliseconds(1)))], cancellationToken: ct);
        Assert.Equal(-1, answer[new TopicPartition(topic, 0)].Offset);

        // So a consumer told to start at a time starts at the end there (no record matched, as far as it can tell).
        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(broker.BootstrapServers));
        consumer.Assign([new Messaging.TopicPartitionOffset(topic, 0, OffsetSpec.ForTimestamp(DateTimeOffset.FromUnixTimeMilliseconds(1)))]);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (consumer.Position(new TopicPartition(topic, 0)) is null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10, ct);
        }

        Assert.Equal(3, consumer.Position(new TopicPartition(topic, 0)));
    }
}
