using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using Messaging.IntegrationTests.Consumer;
using Messaging.IntegrationTests.Support;
using Messaging.Protocol;
using Messaging.Protocol.Messages;
using Messaging.Testing;
using Messaging.Testing.Security;

namespace Messaging.IntegrationTests.Security;

/// <summary>
/// A proxy with <see cref="KafkaProxyOptions.AnswerFetchesOnArrival"/> in front of the embedded cluster answers a
/// waiting Fetch as Kafka does: when records arrive (not when the wait ends, as librdkafka's mock does), at once with an
/// error, at the end of its wait with nothing, after enough bytes with a minimum — for raw requests, our consumer and
/// Confluent.Kafka's. Every fetch wait here is far longer than the time allowed for the answer, so an answer that waited
/// for the end of its wait fails the test.
/// </summary>
public sealed class ProxyFetchOnArrivalTests
{
    private const int LongWaitMs = 60_000;
    private static readonly TimeSpan AnswerWithin = TimeSpan.FromSeconds(15);

    [Fact(Timeout = 60_000)]
    public async Task A_held_fetch_is_answered_when_a_record_arrives_and_the_proxy_asks_again_without_counting_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var setup = Setup.Start();
        var topic = setup.Topic(partitions: 1);
        var (connection, fetch) = await HoldFetchAsync(setup.Cluster, setup.Proxy, topic, LongWaitMs, minBytes: 1, ct);
        using var _ = connection;
        Assert.False(fetch.IsCompleted);

        await setup.ProduceAsync(topic, [42], ct);

        var response = await fetch.WaitAsync(AnswerWithin, ct);
        var partition = Assert.Single(Assert.Single(response.Responses).Partitions);
        Assert.Equal(ErrorCode.None, partition.ErrorCode);
        Assert.True(partition.Records?.Length > 0);
        Assert.Equal(1, setup.Proxy.Brokers[0].Faults.Requests(ApiKey.Fetch)); // the client sent one Fetch
        Assert.True(BrokerFetches(setup.Cluster) >= 2); // the proxy asked the broker again when the record arrived
    }

    [Fact(Timeout = 60_000)]
    public async Task An_empty_fetch_is_answered_when_its_wait_ends()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var setup = Setup.Start();
        var topic = setup.Topic(partitions: 1);
        using var connection = await RawConnection.OpenAsync(setup.Proxy, ct);

        var started = Stopwatch.GetTimestamp();
        var response = await connection.FetchAsync(topic, offset: 0, maxWaitMs: 400, minBytes: 1, ct).WaitAsync(AnswerWithin, ct);

        Assert.True(Stopwatch.GetElapsedTime(started) >= TimeSpan.FromMilliseconds(390), "answered after " + Stopwatch.GetElapsedTime(started));
        var partition = Assert.Single(Assert.Single(response.Responses).Partitions);
        Assert.Equal(ErrorCode.None, partition.ErrorCode);
        Assert.True(partition.Records is null || partition.Records.Value.Length == 0);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_fetch_the_broker_answers_with_an_error_is_answered_at_once()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var setup = Setup.Start();
        var topic = setup.Topic(partitions: 1);
        using var connection = await RawConnection.OpenAsync(setup.Proxy, ct);

        var response = await connection.FetchAsync(topic, offset: 1_000, LongWaitMs, minBytes: 1, ct).WaitAsync(AnswerWithin, ct);

        Assert.Equal(ErrorCode.OffsetOutOfRange, Assert.Single(Assert.Single(response.Responses).Partitions).ErrorCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_minimum_of_bytes_not_reached_is_answered_when_the_wait_ends_with_what_arrived()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var setup = Setup.Start();
        var topic = setup.Topic(partitions: 1);
        var started = Stopwatch.GetTimestamp();
        var (connection, fetch) = await HoldFetchAsync(setup.Cluster, setup.Proxy, topic, maxWaitMs: 1_500, minBytes: 3_000, ct);
        using var _ = connection;

        await setup.ProduceAsync(topic, new byte[10], ct);

        var response = await fetch.WaitAsync(AnswerWithin, ct);
        Assert.True(Stopwatch.GetElapsedTime(started) >= TimeSpan.FromMilliseconds(1_450), "answered after " + Stopwatch.GetElapsedTime(started));
        Assert.True(Assert.Single(Assert.Single(response.Responses).Partitions).Records?.Length > 0);
        Assert.True(BrokerFetches(setup.Cluster) >= 2); // asked again when the record arrived, and held on: too few bytes
    }

    [Fact(Timeout = 60_000)]
    public async Task Records_written_past_the_proxy_are_seen_at_the_next_recheck()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var setup = Setup.Start();
        var topic = setup.Topic(partitions: 1);
        var (connection, fetch) = await HoldFetchAsync(setup.Cluster, setup.Proxy, topic, LongWaitMs, minBytes: 1, ct);
        using var _ = connection;

        // Straight to the broker: no Produce response passes the proxy to signal the held Fetch.
        await using (var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = setup.Cluster.BootstrapServers }))
        {
            await producer.ProduceAsync(topic, (byte[]?)null, [7], partition: 0, cancellationToken: ct);
        }

        var response = await fetch.WaitAsync(AnswerWithin, ct);
        Assert.True(Assert.Single(Assert.Single(response.Responses).Partitions).Records?.Length > 0);
    }

    [Fact(Timeout = 90_000)]
    public async Task Our_consumer_with_a_long_fetch_wait_gets_each_record_as_it_arrives()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var setup = Setup.Start();
        var topic = setup.Topic(partitions: 1);
        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(setup.Proxy.BootstrapServers, o => o.FetchMaxWait = TimeSpan.FromMilliseconds(LongWaitMs)));
        consumer.Assign(ConsumerTestSupport.All(topic, 1, OffsetSpec.Earliest));

        for (byte i = 0; i < 3; i++)
        {
            await setup.ProduceAsync(topic, [i], ct);
            var read = await ConsumerTestSupport.ReadAsync(consumer, 1, AnswerWithin, ct);
            Assert.Equal(i, Assert.Single(read).Value![0]);
        }
    }

    [Fact(Timeout = 90_000)]
    public async Task A_confluent_consumer_with_a_long_fetch_wait_gets_each_record_as_it_arrives()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var setup = Setup.Start();
        var topic = setup.Topic(partitions: 1);
        using var consumer = ConfluentClients.Consumer(setup.Proxy.BootstrapServers, c => c.FetchWaitMaxMs = LongWaitMs);
        consumer.Assign(new Confluent.Kafka.TopicPartitionOffset(topic, 0, Confluent.Kafka.Offset.Beginning));

        for (byte i = 0; i < 3; i++)
        {
            await setup.ProduceAsync(topic, [i], ct);
            var deadline = Stopwatch.GetTimestamp() + (long)(AnswerWithin.TotalSeconds * Stopwatch.Frequency);
            Confluent.Kafka.ConsumeResult<byte[], byte[]>? record = null;
            while (record is null && Stopwatch.GetTimestamp() < deadline)
            {
                ct.ThrowIfCancellationRequested();
                record = consumer.Consume(TimeSpan.FromMilliseconds(100));
            }

            Assert.NotNull(record);
            Assert.Equal(i, record.Message.Value[0]);
        }

        consumer.Close();
    }

    [Fact(Timeout = 60_000)]
    public async Task Disposing_the_proxy_while_it_holds_a_fetch_ends_promptly_and_closes_the_connection()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(1);
        var proxy = KafkaProxy.Start(cluster, new KafkaProxyOptions { AnswerFetchesOnArrival = true });
        var topic = "held-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic, 1, 1);
        var (connection, fetch) = await HoldFetchAsync(cluster, proxy, topic, LongWaitMs, minBytes: 1, ct);
        using var _ = connection;

        await proxy.DisposeAsync().AsTask().WaitAsync(AnswerWithin, ct);

        await Assert.ThrowsAnyAsync<IOException>(() => fetch.WaitAsync(AnswerWithin, ct));
    }

    /// <summary>Sends a Fetch from offset 0 on a new connection and returns once the broker looked at the log for it (the proxy holds it unless records were there).</summary>
    private static async Task<(RawConnection Connection, Task<FetchResponse> Fetch)> HoldFetchAsync(
        EmbeddedKafkaCluster cluster, KafkaProxy proxy, string topic, int maxWaitMs, int minBytes, CancellationToken ct)
    {
        cluster.StartRequestTracking();
        var connection = await RawConnection.OpenAsync(proxy, ct);
        var fetch = connection.FetchAsync(topic, offset: 0, maxWaitMs, minBytes, ct);
        await WaitForBrokerFetchesAsync(cluster, 1, ct);
        return (connection, fetch);
    }

    private static int BrokerFetches(EmbeddedKafkaCluster cluster)
    {
        var count = 0;
        foreach (var request in cluster.GetTrackedRequests())
        {
            count += request.ApiKey == ApiKey.Fetch ? 1 : 0;
        }

        return count;
    }

    private static async Task WaitForBrokerFetchesAsync(EmbeddedKafkaCluster cluster, int count, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(AnswerWithin);
        while (BrokerFetches(cluster) < count)
        {
            await Task.Delay(5, timeout.Token);
        }
    }

    private sealed class Setup(EmbeddedKafkaCluster cluster, KafkaProxy proxy, KafkaProducer producer) : IAsyncDisposable
    {
        public EmbeddedKafkaCluster Cluster => cluster;

        public KafkaProxy Proxy => proxy;

        public static Setup Start()
        {
            var cluster = EmbeddedKafkaCluster.Start(1);
            var proxy = KafkaProxy.Start(cluster, new KafkaProxyOptions { AnswerFetchesOnArrival = true });
            return new Setup(cluster, proxy, new KafkaProducer(new KafkaProducerOptions { BootstrapServers = proxy.BootstrapServers }));
        }

        public string Topic(int partitions)
        {
            var topic = "arrival-" + Guid.NewGuid().ToString("N")[..8];
            cluster.CreateTopic(topic, partitions, 1);
            return topic;
        }

        /// <summary>Produces one record to partition 0 through the proxy and waits for its acknowledgement.</summary>
        public async Task ProduceAsync(string topic, byte[] value, CancellationToken ct) =>
            await producer.ProduceAsync(topic, (byte[]?)null, value, partition: 0, cancellationToken: ct);

        public async ValueTask DisposeAsync()
        {
            await producer.DisposeAsync();
            await proxy.DisposeAsync();
            await cluster.DisposeAsync();
        }
    }

    /// <summary>One plain connection to the proxy's first listener that sends Fetch v12 (topic names) requests one at a time.</summary>
    private sealed class RawConnection(TcpClient client) : IDisposable
    {
        private int _correlationId;

        public static async Task<RawConnection> OpenAsync(KafkaProxy proxy, CancellationToken ct)
        {
            var client = new TcpClient { NoDelay = true };
            await client.ConnectAsync("localhost", proxy.Brokers[0].Port, ct);
            return new RawConnection(client);
        }

        public async Task<FetchResponse> FetchAsync(string topic, long offset, int maxWaitMs, int minBytes, CancellationToken ct)
        {
            const short version = 12;
            using var output = new ContiguousBufferWriter(256);
            var request = new FetchRequest
            {
                MaxWaitMs = maxWaitMs,
                MinBytes = minBytes,
                Topics = [new FetchRequest.FetchTopic { Topic = topic, Partitions = [new FetchRequest.FetchPartition { Partition = 0, FetchOffset = offset, PartitionMaxBytes = 1 << 20 }] }],
            };
            KafkaFrames.WriteRequest(output, request, version, ++_correlationId, "raw-fetch");
            var stream = client.GetStream();
            await stream.WriteAsync(output.WrittenMemory, ct);

            var prefix = new byte[4];
            await stream.ReadExactlyAsync(prefix, ct);
            var frame = new byte[BinaryPrimitives.ReadInt32BigEndian(prefix)];
            await stream.ReadExactlyAsync(frame, ct);
            return KafkaFrames.ReadResponse<FetchResponse>(frame, version, null, out _);
        }

        public void Dispose() => client.Dispose();
    }
}
