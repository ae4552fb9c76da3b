using Confluent.Kafka;
using Messaging.Cluster;
using Messaging.Connection;
using Messaging.Protocol;
using Messaging.Protocol.Messages;
using Messaging.Records;
using Messaging.Testing.Brokers;

namespace Messaging.IntegrationTests.Consumer;

public sealed class MockProbeTests(TestBrokerFixture fixture)
{
    [Fact(Timeout = 60_000)]
    public async Task Probe()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("probe");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        var log = new System.Text.StringBuilder();
        using (var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = broker.BootstrapServers, TransactionalId = "tx-probe", LingerMs = 1 }).Build())
        {
            producer.InitTransactions(TimeSpan.FromSeconds(10));
            producer.BeginTransaction();
            await producer.ProduceAsync(topic, new Message<byte[], byte[]> { Value = "c1"u8.ToArray() }, ct);
            await producer.ProduceAsync(topic, new Message<byte[], byte[]> { Value = "c2"u8.ToArray() }, ct);
            producer.CommitTransaction();
            producer.BeginTransaction();
            await producer.ProduceAsync(topic, new Message<byte[], byte[]> { Value = "a1"u8.ToArray() }, ct);
            await producer.ProduceAsync(topic, new Message<byte[], byte[]> { Value = "a2"u8.ToArray() }, ct);
            producer.AbortTransaction();
            producer.BeginTransaction();
            await producer.ProduceAsync(topic, new Message<byte[], byte[]> { Value = "open"u8.ToArray() }, ct);
            producer.Flush(ct);

            await using var client = new ClusterClient(new KafkaClientOptions { BootstrapServers = broker.BootstrapServers });
            var md = await client.Metadata.EnsureTopicsAsync([topic], ct);
            md.TryGetLeader(topic, 0, out var leader, out var epoch);
            var conn = await client.Connections.GetAsync(leader, ct);
            var version = conn.ApiVersions.VersionFor(ApiKey.Fetch);
            log.AppendLine("fetch version " + version + " epoch " + epoch + " topicId " + md.Topics[topic].TopicId);
            foreach (sbyte iso in new sbyte[] { 0, 1 })
            {
                var req = new FetchRequest { ReplicaId = -1, MaxWaitMs = 10, MinBytes = 1, MaxBytes = 1 << 20, IsolationLevel = iso, SessionId = 0, SessionEpoch = 0,
                    Topics = [new FetchRequest.FetchTopic { Topic = topic, TopicId = md.Topics[topic].TopicId, Partitions = [new FetchRequest.FetchPartition { Partition = 0, FetchOffset = 0, PartitionMaxBytes = 1 << 20, CurrentLeaderEpoch = epoch }] }] };
                long offset = 0;
                for (int round = 0; round < 8; round++)
                {
                    req.Topics[0].Partitions[0].FetchOffset = offset;
                    using var frame = await conn.SendAsync(req, version, TimeSpan.FromSeconds(5), ct);
                    var resp = ResponseDecoder.Decode<FetchResponse>(frame, version, ProtocolLimits.Default);
                    var p = resp.Responses[0].Partitions[0];
                    log.AppendLine($"iso={iso} off={offset} session={resp.SessionId} err={p.ErrorCode} hw={p.HighWatermark} lso={p.LastStableOffset} aborted={(p.AbortedTransactions is null ? "null" : p.AbortedTransactions.Length.ToString())} bytes={p.Records?.Length}");
                    if (p.Records is not { Length: > 0 } records) break;
                    var reader = new RecordBatchReader(records, new RecordDecoderOptions { VerifyCrc = false });
                    while (reader.TryReadNext(out var b))
                    {
                        log.AppendLine($"  batch base={b.BaseOffset} last={b.LastOffset} pid={b.ProducerId} txn={b.IsTransactional} ctl={b.IsControl} crc={b.Crc:X8} count={b.RecordCount}");
                        offset = b.LastOffset + 1;
                    }
                }
            }
        }

        File.WriteAllText("/tmp/mock-probe.txt", log.ToString());
    }
}
