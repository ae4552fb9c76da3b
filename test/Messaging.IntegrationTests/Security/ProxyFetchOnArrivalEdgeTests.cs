using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Messaging.IntegrationTests.Support;
using Messaging.Protocol;
using Messaging.Protocol.Messages;
using Messaging.Testing;
using Messaging.Testing.Security;
using static Messaging.IntegrationTests.Security.FetchOnArrivalSupport;

namespace Messaging.IntegrationTests.Security;

/// <summary>
/// Edges of <see cref="KafkaProxyOptions.AnswerFetchesOnArrival"/> where a Kafka broker's behaviour is easy to miss: a
/// Fetch that asks for no bytes, the listener's latency around a held Fetch, the order of responses on one connection,
/// a Fetch for partitions some of which have records, a Produce whose answer is cut on its way to the client, and the
/// broker side ending while a Fetch is held.
/// </summary>
public sealed class ProxyFetchOnArrivalEdgeTests
{
    [Fact(Timeout = 60_000)]
    public async Task A_fetch_that_asks_for_no_bytes_is_answered_at_once_as_Kafka_does()
    {
        // Kafka answers when the bytes it has reach MinBytes: with 0, at once, whatever the wait (the Java consumer's
        // fetch.min.bytes=0, our FetchMinBytes = 0).
        var ct = TestContext.Current.CancellationToken;
        await using var setup = FetchOnArrivalSetup.Start();
        var topic = setup.Topic(partitions: 1);
        using var connection = await RawFetchConnection.OpenAsync(setup.Proxy, ct);

        var response = await connection.FetchAsync(topic, [0], LongWaitMs, minBytes: 0, ct).WaitAsync(AnswerWithin, ct);

        var partition = Assert.Single(Assert.Single(response.Responses).Partitions);
        Assert.Equal(ErrorCode.None, partition.ErrorCode);
        Assert.True(partition.Records is null || partition.Records.Value.Length == 0);
    }

    [Fact(Timeout = 60_000)]
    public async Task The_wait_of_a_held_fetch_starts_when_it_has_passed_the_listener_latency_as_on_a_broker()
    {
        // On a broker the wait starts when the request arrives: the client sees latency + wait + latency.
        var ct = TestContext.Current.CancellationToken;
        await using var setup = FetchOnArrivalSetup.Start();
        var topic = setup.Topic(partitions: 1);
        using var connection = await RawFetchConnection.OpenAsync(setup.Proxy, ct);
        var faults = setup.Proxy.Brokers[0].Faults;
        faults.Latency = TimeSpan.FromSeconds(1);

        var started = Stopwatch.GetTimestamp();
        var response = await connection.FetchAsync(topic, [0], maxWaitMs: 1_000, minBytes: 1, ct).WaitAsync(AnswerWithin, ct);
        var elapsed = Stopwatch.GetElapsedTime(started);

        Assert.True(elapsed >= TimeSpan.FromMilliseconds(2_900), "answered after " + elapsed);
        Assert.Equal(ErrorCode.None, Assert.Single(Assert.Single(response.Responses).Partitions).ErrorCode);
        Assert.Equal(1, faults.Requests(ApiKey.Fetch));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_fetch_for_partitions_some_with_records_is_answered_at_once_with_them()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var setup = FetchOnArrivalSetup.Start();
        var topic = setup.Topic(partitions: 3);
        await setup.ProduceAsync(topic, partition: 1, [5], ct);
        using var connection = await RawFetchConnection.OpenAsync(setup.Proxy, ct);

        var response = await connection.FetchAsync(topic, [0, 1, 2], LongWaitMs, minBytes: 1, ct).WaitAsync(AnswerWithin, ct);

        var partitions = Assert.Single(response.Responses).Partitions;
        Assert.Equal(3, partitions.Length);
        foreach (var partition in partitions)
        {
            Assert.Equal(ErrorCode.None, partition.ErrorCode);
            Assert.Equal(partition.PartitionIndex == 1, partition.Records?.Length > 0);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_held_fetch_is_answered_after_the_requests_before_it_and_before_the_requests_after_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var setup = FetchOnArrivalSetup.Start();
        var topic = setup.Topic(partitions: 1);
        using var client = await RawFrames.ConnectAsync(setup.Proxy, ct);
        var stream = client.GetStream();
        setup.Proxy.Brokers[0].Faults.Latency = TimeSpan.FromMilliseconds(50); // responses take their time back

        // Pipelined: ApiVersions, then a Fetch the proxy holds, then ApiVersions again.
        setup.Cluster.StartRequestTracking();
        await RawFrames.SendAsync(stream, new ApiVersionsRequest(), 0, correlationId: 1, ct);
        await RawFrames.SendAsync(stream, RawFetchConnection.Fetch(topic, [0], LongWaitMs, minBytes: 1), 12, correlationId: 2, ct);
        await RawFrames.SendAsync(stream, new ApiVersionsRequest(), 0, correlationId: 3, ct);
        var first = await RawFrames.ReadAsync(stream, AnswerWithin, ct);
        Assert.Equal(1, CorrelationId(first));
        await Eventually.TrueAsync(() => BrokerRequests(setup.Cluster, ApiKey.Fetch) >= 1, AnswerWithin, "the broker never saw the Fetch", ct);
        await setup.ProduceAsync(topic, partition: 0, [9], ct);

        var second = await RawFrames.ReadAsync(stream, AnswerWithin, ct);
        var third = await RawFrames.ReadAsync(stream, AnswerWithin, ct);
        Assert.Equal(2, CorrelationId(second));
        Assert.Equal(3, CorrelationId(third));
        var fetch = KafkaFrames.ReadResponse<FetchResponse>(second, 12, null, out _);
        Assert.True(Assert.Single(Assert.Single(fetch.Responses).Partitions).Records?.Length > 0);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_produce_whose_answer_is_cut_on_its_way_to_the_client_still_answers_a_held_fetch_at_once()
    {
        // Rechecks 10 min apart and new connections refused (no retry of the Produce can pass): only the broker's
        // answer to the cut Produce can wake the held Fetch within the time allowed.
        var ct = TestContext.Current.CancellationToken;
        await using var setup = FetchOnArrivalSetup.Start(options => options.FetchRecheckInterval = TimeSpan.FromMinutes(10));
        var topic = setup.Topic(partitions: 2);
        var faults = setup.Proxy.Brokers[0].Faults;
        var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = setup.Proxy.BootstrapServers,
            Linger = TimeSpan.Zero,
            CloseTimeout = TimeSpan.FromSeconds(1),
        });
        try
        {
            // Partition 1 warms the producer up (connection, metadata, producer id) before the Fetch is held.
            await producer.ProduceAsync(topic, (byte[]?)null, [1], partition: 1, cancellationToken: ct);

            var (connection, fetch) = await HoldFetchAsync(setup.Cluster, setup.Proxy, topic, LongWaitMs, minBytes: 1, ct);
            using var _ = connection;
            faults.RefuseConnections = true;
            faults.CutResponse(ApiKey.Produce, bytes: 8); // the Produce passes whole; its answer is cut 8 bytes in
            var cutProduce = producer.ProduceAsync(topic, (byte[]?)null, [3], partition: 0, cancellationToken: ct).AsTask();

            var response = await fetch.WaitAsync(AnswerWithin, ct);
            Assert.True(Assert.Single(Assert.Single(response.Responses).Partitions).Records?.Length > 0);
            var cut = Assert.IsType<ProxyCut>(faults.LastCut);
            Assert.Equal(ApiKey.Produce, cut.ApiKey);
            Assert.False(cut.ToBroker);
            Assert.True(cut.IsMidFrame, cut.ToString());
            Assert.False(cutProduce.IsCompletedSuccessfully);
        }
        finally
        {
            await producer.DisposeAsync(); // fails the cut Produce after CloseTimeout: it cannot reconnect
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_broker_that_goes_down_while_a_fetch_is_held_closes_the_connection_and_the_proxy_disposes_promptly()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(1);
        var proxy = KafkaProxy.Start(cluster, new KafkaProxyOptions { AnswerFetchesOnArrival = true, FetchRecheckInterval = TimeSpan.FromMinutes(10) });
        try
        {
            var topic = "held-" + Guid.NewGuid().ToString("N")[..8];
            cluster.CreateTopic(topic, 1, 1);
            var (connection, fetch) = await HoldFetchAsync(cluster, proxy, topic, LongWaitMs, minBytes: 1, ct);
            using var _ = connection;

            cluster.SetBrokerDown(1);

            await Assert.ThrowsAnyAsync<Exception>(() => fetch.WaitAsync(AnswerWithin, ct));
        }
        finally
        {
            await proxy.DisposeAsync().AsTask().WaitAsync(AnswerWithin, ct);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_listener_whose_connections_close_while_a_fetch_is_held_disposes_promptly()
    {
        // The held Fetch waits for a write that will not come (recheck 10 min): closing the connection must end that wait,
        // or the connection outlives the listener's dispose.
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(1);
        await using var proxy = KafkaProxy.Start(cluster, new KafkaProxyOptions { AnswerFetchesOnArrival = true, FetchRecheckInterval = TimeSpan.FromMinutes(10) });
        var topic = "closed-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic, 1, 1);
        var (connection, fetch) = await HoldFetchAsync(cluster, proxy, topic, LongWaitMs, minBytes: 1, ct);
        using var _ = connection;
        var listener = proxy.Brokers[0];

        listener.CloseConnections();
        await Assert.ThrowsAnyAsync<Exception>(() => fetch.WaitAsync(AnswerWithin, ct));

        await listener.DisposeAsync().AsTask().WaitAsync(AnswerWithin, ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_reauthentication_sent_behind_a_held_fetch_is_answered_after_it_and_the_connection_goes_on()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(1);
        var options = RawFrames.PlainAlice();
        options.AnswerFetchesOnArrival = true;
        await using var proxy = KafkaProxy.Start(cluster, options);
        var topic = "reauth-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic, 1, 1);
        using var client = await RawFrames.ConnectAsync(proxy, ct);
        var stream = client.GetStream();
        await AuthenticateAsync(stream, correlationId: 1, ct);

        // Pipelined: ApiVersions, a Fetch the proxy holds, then a re-authentication behind it.
        cluster.StartRequestTracking();
        await RawFrames.SendAsync(stream, new ApiVersionsRequest(), 0, correlationId: 3, ct);
        await RawFrames.SendAsync(stream, RawFetchConnection.Fetch(topic, [0], LongWaitMs, minBytes: 1), 12, correlationId: 4, ct);
        await RawFrames.SendAsync(stream, new SaslHandshakeRequest { Mechanism = "PLAIN" }, SaslHandshakeRequest.MaxVersion, 5, ct);
        await RawFrames.SendAsync(stream, new SaslAuthenticateRequest { AuthBytes = Encoding.UTF8.GetBytes("\0alice\0secret") }, SaslAuthenticateRequest.MaxVersion, 6, ct);
        Assert.Equal(3, CorrelationId(await RawFrames.ReadAsync(stream, AnswerWithin, ct)));
        await Eventually.TrueAsync(() => BrokerRequests(cluster, ApiKey.Fetch) >= 1, AnswerWithin, "the broker never saw the Fetch", ct);

        // Straight to the broker (the proxy asks for SASL): the held Fetch sees it at its next recheck.
        await using (var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = cluster.BootstrapServers }))
        {
            await producer.ProduceAsync(topic, (byte[]?)null, [3], partition: 0, cancellationToken: ct);
        }

        var fetch = await RawFrames.ReadAsync(stream, AnswerWithin, ct);
        Assert.Equal(4, CorrelationId(fetch));
        Assert.True(Assert.Single(Assert.Single(KafkaFrames.ReadResponse<FetchResponse>(fetch, 12, null, out _).Responses).Partitions).Records?.Length > 0);
        Assert.Equal(5, CorrelationId(await RawFrames.ReadAsync(stream, AnswerWithin, ct)));
        var reauthenticated = await RawFrames.ReadAsync(stream, AnswerWithin, ct);
        Assert.Equal(6, CorrelationId(reauthenticated));
        Assert.Equal(ErrorCode.None, KafkaFrames.ReadResponse<SaslAuthenticateResponse>(reauthenticated, SaslAuthenticateRequest.MaxVersion, null, out _).ErrorCode);
        Assert.Equal(1, proxy.Brokers[0].Faults.Reauthentications);

        await RawFrames.SendAsync(stream, new ApiVersionsRequest(), 0, correlationId: 7, ct);
        Assert.Equal(7, CorrelationId(await RawFrames.ReadAsync(stream, AnswerWithin, ct)));
    }

    [Fact(Timeout = 60_000)]
    public async Task Deleting_the_topic_through_the_proxy_answers_a_held_fetch_of_it_at_once()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(1);
        await using var proxy = KafkaProxy.Start(cluster, new KafkaProxyOptions
        {
            AnswerFetchesOnArrival = true,
            AnswerTopicAdministration = true,
            FetchRecheckInterval = TimeSpan.FromMinutes(10), // only the deletion can wake it
        });
        var topic = "doomed-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic, 1, 1);
        var (connection, fetch) = await HoldFetchAsync(cluster, proxy, topic, LongWaitMs, minBytes: 1, ct);
        using var _ = connection;

        using var admin = await RawFrames.ConnectAsync(proxy, ct);
        var stream = admin.GetStream();
        await RawFrames.SendAsync(stream, new DeleteTopicsRequest { TopicNames = [topic], TimeoutMs = 10_000 }, 4, correlationId: 1, ct);
        Assert.Equal(1, CorrelationId(await RawFrames.ReadAsync(stream, AnswerWithin, ct)));

        var response = await fetch.WaitAsync(AnswerWithin, ct);
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, Assert.Single(Assert.Single(response.Responses).Partitions).ErrorCode);
    }

    private static async Task AuthenticateAsync(Stream stream, int correlationId, CancellationToken ct)
    {
        await RawFrames.SendAsync(stream, new SaslHandshakeRequest { Mechanism = "PLAIN" }, SaslHandshakeRequest.MaxVersion, correlationId, ct);
        Assert.Equal(correlationId, CorrelationId(await RawFrames.ReadAsync(stream, AnswerWithin, ct)));
        await RawFrames.SendAsync(stream, new SaslAuthenticateRequest { AuthBytes = Encoding.UTF8.GetBytes("\0alice\0secret") }, SaslAuthenticateRequest.MaxVersion, correlationId + 1, ct);
        var authenticated = await RawFrames.ReadAsync(stream, AnswerWithin, ct);
        Assert.Equal(correlationId + 1, CorrelationId(authenticated));
        Assert.Equal(ErrorCode.None, KafkaFrames.ReadResponse<SaslAuthenticateResponse>(authenticated, SaslAuthenticateRequest.MaxVersion, null, out _).ErrorCode);
    }

    private static int CorrelationId(byte[]? frame)
    {
        Assert.NotNull(frame);
        return BinaryPrimitives.ReadInt32BigEndian(frame);
    }
}
