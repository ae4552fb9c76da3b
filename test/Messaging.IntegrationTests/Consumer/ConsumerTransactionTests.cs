using System.Buffers.Binary;
using Confluent.Kafka;
using IsolationLevel = Messaging.IsolationLevel;
using Messaging.Cluster;
using Messaging.Connection;
using Messaging.Protocol;
using Messaging.Protocol.Messages;
using Messaging.Records;
using Messaging.Testing.Brokers;
using TopicPartition = Messaging.TopicPartition;
using TopicPartitionOffset = Messaging.TopicPartitionOffset;

namespace Messaging.IntegrationTests.Consumer;

/// <summary>
/// Records of Confluent.Kafka's transactional producer — one committed transaction, one aborted, one committed —
/// read under both isolation levels: control records never surface; read_committed hides the aborted ones. The
/// embedded broker cannot show the hiding (it sends no aborted-transaction list and writes its markers with CRC 0), so
/// the same bytes, captured from it, are also served by <see cref="FakeFetchBroker"/> the way Kafka serves them.
/// </summary>
public sealed class ConsumerTransactionTests(TestBrokerFixture fixture)
{
    private static readonly string[] Committed = ["c1", "c2", "c3"];
    private static readonly string[] Everything = ["c1", "c2", "a1", "a2", "c3"];

    [Fact(Timeout = 90_000)]
    public async Task Transactional_records_from_confluent_are_read_under_both_isolation_levels()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("txn");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        long producerId = await ProduceTransactionsAsync(broker.BootstrapServers, topic, ct);
        bool embedded = broker.Kind == TestBrokerKind.Embedded;
        var partition = new TopicPartition(topic, 0);

        // read_uncommitted: every data record, no control record; the position ends past the last marker.
        var uncommitted = await ReadValuesAsync(broker.BootstrapServers, partition, IsolationLevel.ReadUncommitted, checkCrcs: !embedded, Everything.Length, ct);
        Assert.Equal(Everything, uncommitted.Values);
        Assert.Equal([0L, 1, 3, 4, 6], uncommitted.Offsets);
        Assert.Equal(8, uncommitted.Position);

        // read_committed: Kafka hides the aborted transaction; the embedded broker sends no aborted list, so it cannot.
        var committed = await ReadValuesAsync(broker.BootstrapServers, partition, IsolationLevel.ReadCommitted, checkCrcs: !embedded, embedded ? Everything.Length : Committed.Length, ct);
        Assert.Equal(embedded ? Everything : Committed, committed.Values);
        Assert.Equal(8, committed.Position);

        // The same bytes served the way Kafka serves them: aborted list, markers with real CRCs.
        var log = await CaptureLogAsync(broker.BootstrapServers, topic, ct);
        await using var fake = FakeFetchBroker.Start();
        fake.CreateTopic(topic, 1);
        foreach (var batch in log)
        {
            fake.Append(topic, 0, RepairCrc(batch));
        }

        fake.AddAbortedTransaction(topic, 0, producerId, firstOffset: 3);
        var served = await ReadValuesAsync(fake.BootstrapServers, partition, IsolationLevel.ReadCommitted, checkCrcs: true, Committed.Length, ct);
        Assert.Equal(Committed, served.Values);
        Assert.Equal([0L, 1, 6], served.Offsets);
        Assert.Equal(8, served.Position);
        var all = await ReadValuesAsync(fake.BootstrapServers, partition, IsolationLevel.ReadUncommitted, checkCrcs: true, Everything.Length, ct);
        Assert.Equal(Everything, all.Values);
    }

    [Fact(Timeout = 60_000)]
    public async Task The_embedded_brokers_zero_crc_markers_fail_the_crc_check_at_their_offset()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, faultInjection: true, cancellationToken: ct); // a limit of the embedded broker only
        var topic = TestBrokerFixture.UniqueTopicName("txn-crc");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        await ProduceTransactionsAsync(broker.BootstrapServers, topic, ct);
        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(broker.BootstrapServers));
        consumer.Assign([new TopicPartitionOffset(topic, 0, OffsetSpec.Earliest)]);
        var read = new List<long>();
        var error = await Assert.ThrowsAsync<Messaging.ConsumeException>(async () =>
        {
            await foreach (var record in consumer.ConsumeAsync(ct))
            {
                read.Add(record.Offset);
            }
        });
        Assert.Equal([0L, 1], read);
        Assert.Equal(2, error.Offset);
        Assert.Equal(ConsumeErrorKind.CorruptRecord, error.Kind);
    }

    private static async Task<long> ProduceTransactionsAsync(string bootstrap, string topic, CancellationToken cancellationToken)
    {
        using var producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig
        {
            BootstrapServers = bootstrap,
            TransactionalId = "txn-" + Guid.NewGuid().ToString("N"),
            LingerMs = 1,
        }).Build();
        producer.InitTransactions(TimeSpan.FromSeconds(20));
        foreach (var (values, commit) in new[] { (new[] { "c1", "c2" }, true), (["a1", "a2"], false), (["c3"], true) })
        {
            producer.BeginTransaction();
            foreach (var value in values)
            {
                await producer.ProduceAsync(new Confluent.Kafka.TopicPartition(topic, 0), new Message<byte[]?, byte[]> { Value = System.Text.Encoding.UTF8.GetBytes(value) }, cancellationToken);
            }

            if (commit)
            {
                producer.CommitTransaction(TimeSpan.FromSeconds(20));
            }
            else
            {
                producer.AbortTransaction(TimeSpan.FromSeconds(20));
            }
        }

        var log = await CaptureLogAsync(bootstrap, topic, cancellationToken);
        var reader = new RecordBatchReader(log[0], new RecordDecoderOptions { VerifyCrc = false });
        Assert.True(reader.TryReadNext(out var first));
        Assert.True(first.IsTransactional);
        return first.ProducerId;
    }

    private static async Task<(List<string> Values, List<long> Offsets, long? Position)> ReadValuesAsync(
        string bootstrap, TopicPartition partition, IsolationLevel isolation, bool checkCrcs, int expected, CancellationToken cancellationToken)
    {
        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(bootstrap, o =>
        {
            o.IsolationLevel = isolation;
            o.CheckCrcs = checkCrcs;
        }));
        consumer.Assign([new TopicPartitionOffset(partition, OffsetSpec.Earliest)]);
        var results = await ConsumerTestSupport.ReadAsync(consumer, expected, TimeSpan.FromSeconds(20), cancellationToken);

        // Linger: nothing else may arrive (a control record, an aborted record), and the position passes the last marker.
        var extra = await ConsumerTestSupport.ReadAsync(consumer, 1, TimeSpan.FromMilliseconds(400), cancellationToken);
        Assert.Empty(extra);
        return (results.Select(r => System.Text.Encoding.UTF8.GetString(r.Value!)).ToList(), results.Select(r => r.Offset).ToList(), consumer.Position(partition));
    }

    /// <summary>Every stored batch of partition 0, by raw Fetches (the embedded broker answers one batch per Fetch).</summary>
    private static async Task<List<byte[]>> CaptureLogAsync(string bootstrap, string topic, CancellationToken cancellationToken)
    {
        await using var client = new ClusterClient(new KafkaClientOptions { BootstrapServers = bootstrap });
        var metadata = await client.Metadata.EnsureTopicsAsync([topic], cancellationToken);
        Assert.True(metadata.TryGetLeader(topic, 0, out var leader, out _));
        var connection = await client.Connections.GetAsync(leader, cancellationToken);
        short version = Math.Min(connection.ApiVersions.VersionFor(ApiKey.Fetch), (short)12);
        var batches = new List<byte[]>();
        long offset = 0;
        while (true)
        {
            var request = new FetchRequest
            {
                ReplicaId = -1, MaxWaitMs = 10, MinBytes = 1, MaxBytes = 1 << 20, SessionEpoch = -1,
                Topics = [new FetchRequest.FetchTopic { Topic = topic, Partitions = [new FetchRequest.FetchPartition { Partition = 0, FetchOffset = offset, PartitionMaxBytes = 1 << 20 }] }],
            };
            using var frame = await connection.SendAsync(request, version, TimeSpan.FromSeconds(10), cancellationToken);
            var data = ResponseDecoder.Decode<FetchResponse>(frame, version, ProtocolLimits.Default).Responses[0].Partitions[0];
            if (data.Records is not { Length: > 0 } records)
            {
                return batches;
            }

            var reader = new RecordBatchReader(records.ToArray(), new RecordDecoderOptions { VerifyCrc = false });
            while (reader.TryReadNext(out var batch))
            {
                batches.Add(batch.Memory.ToArray());
                offset = batch.LastOffset + 1;
            }
        }
    }

    private static byte[] RepairCrc(byte[] batch)
    {
        if (BinaryPrimitives.ReadUInt32BigEndian(batch.AsSpan(17)) == 0)
        {
            BinaryPrimitives.WriteUInt32BigEndian(batch.AsSpan(17), Crc32C.Compute(batch.AsSpan(21)));
        }

        return batch;
    }
}
