using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using Messaging.IntegrationTests.Consumer;
using Messaging.IntegrationTests.Support;
using Messaging.Protocol;
using Messaging.Protocol.Messages;
using Messaging.Testing;
using Messaging.Testing.Security;
using static Messaging.IntegrationTests.Security.FetchOnArrivalSupport;

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
    [Fact(Timeout = 60_000)]
    public async Task A_held_fetch_is_answered_when_a_record_arrives_and_the_proxy_asks_again_without_counting_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var setup = FetchOnArrivalSetup.Start();
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
        Assert.True(BrokerRequests(setup.Cluster, ApiKey.Fetch) >= 2); // the proxy asked the broker again when the record arrived
    }

    [Fact(Timeout = 60_000)]
    public async Task An_empty_fetch_is_answered_when_its_wait_ends()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var setup = FetchOnArrivalSetup.Start();
        var topic = setup.Topic(partitions: 1);
        using var connection = await RawFetchConnection.OpenAsync(setup.Proxy, ct);

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
        await using var setup = FetchOnArrivalSetup.Start();
        var topic = setup.Topic(partitions: 1);
        using var connection = await RawFetchConnection.OpenAsync(setup.Proxy, ct);

        var response = await connection.FetchAsync(topic, offset: 1_000, LongWaitMs, minBytes: 1, ct).WaitAsync(AnswerWithin, ct);

        Assert.Equal(ErrorCode.OffsetOutOfRange, Assert.Single(Assert.Single(response.Responses).Partitions).ErrorCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_minimum_of_bytes_not_reached_is_answered_when_the_wait_ends_with_what_arrived()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var setup = FetchOnArrivalSetup.Start();
        var topic = setup.Topic(partitions: 1);
        var started = Stopwatch.GetTimestamp();
        var (connection, fetch) = await HoldFetchAsync(setup.Cluster, setup.Proxy, topic, maxWaitMs: 1_500, minBytes: 3_000, ct);
        using var _ = connection;

        await setup.ProduceAsync(topic, new byte[10], ct);

        var response = await fetch.WaitAsync(AnswerWithin, ct);
        Assert.True(Stopwatch.GetElapsedTime(started) >= TimeSpan.FromMilliseconds(1_450), "answered after " + Stopwatch.GetElapsedTime(started));
        Assert.True(Assert.Single(Assert.Single(response.Responses).Partitions).Records?.Length > 0);
        Assert.True(BrokerRequests(setup.Cluster, ApiKey.Fetch) >= 2); // asked again when the record arrived, and held on: too few bytes
    }

    [Fact(Timeout = 60_000)]
    public async Task Records_written_past_the_proxy_are_seen_at_the_next_recheck()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var setup = FetchOnArrivalSetup.Start();
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
        await using var setup = FetchOnArrivalSetup.Start();
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
        await using var setup = FetchOnArrivalSetup.Start();
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
}
