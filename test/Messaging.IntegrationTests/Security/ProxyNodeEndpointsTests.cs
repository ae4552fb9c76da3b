using System.Net.Sockets;
using Messaging.IntegrationTests.EmbeddedBroker;
using Messaging.IntegrationTests.Support;
using Messaging.Protocol;
using Messaging.Protocol.Messages;
using Messaging.Testing;
using Messaging.Testing.Security;

namespace Messaging.IntegrationTests.Security;

/// <summary>
/// The leaders a Produce or Fetch response names (KIP-951 NodeEndpoints, sent with NOT_LEADER_OR_FOLLOWER) are the
/// proxy's listeners, as in Metadata, so a client that follows them stays behind the proxy; a response without them
/// passes byte-identical.
/// </summary>
public sealed class ProxyNodeEndpointsTests
{
    private const short ProduceVersion = 10;
    private const short FetchVersion = 16;
    private static readonly TimeSpan AnswerWithin = TimeSpan.FromSeconds(15);

    [Fact(Timeout = 60_000)]
    public Task A_produce_to_a_broker_that_is_no_longer_leader_names_the_proxy_listener_of_the_new_leader() =>
        AssertTheNewLeaderIsNamedThroughTheProxyAsync(new KafkaProxyOptions(), (topic, _) => Produce(topic, partition: 0), ProduceVersion, static (ProduceResponse response) =>
        {
            var partition = Assert.Single(Assert.Single(response.Responses).PartitionResponses);
            return (partition.ErrorCode, partition.CurrentLeader.LeaderId, [.. response.NodeEndpoints.Select(e => (e.NodeId, e.Host, e.Port))]);
        }, TestContext.Current.CancellationToken);

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)] // the proxy holds the Fetch (answers it on arrival): its response takes the other way to the client
    public Task A_fetch_from_a_broker_that_is_no_longer_leader_names_the_proxy_listener_of_the_new_leader(bool answerFetchesOnArrival) =>
        // The broker delays even an error answer by the Fetch's wait when it returns no records: keep it short.
        AssertTheNewLeaderIsNamedThroughTheProxyAsync(new KafkaProxyOptions { AnswerFetchesOnArrival = answerFetchesOnArrival }, (_, topicId) => Fetch(topicId, maxWaitMs: 200), FetchVersion,
            static (FetchResponse response) =>
            {
                var partition = Assert.Single(Assert.Single(response.Responses).Partitions);
                return (partition.ErrorCode, partition.CurrentLeader.LeaderId, [.. response.NodeEndpoints.Select(e => (e.NodeId, e.Host, e.Port))]);
            }, TestContext.Current.CancellationToken);

    [Fact(Timeout = 60_000)]
    public async Task Produce_and_fetch_responses_without_node_endpoints_pass_byte_identical()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(1);
        await using var proxy = KafkaProxy.Start(cluster);
        var topic = NewTopic(cluster);
        await using (var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = proxy.BootstrapServers }))
        {
            for (var i = 0; i < 3; i++)
            {
                await producer.ProduceAsync(topic, (byte[]?)null, [(byte)i, 1, 2, 3], partition: 0, cancellationToken: ct);
            }
        }

        using var throughProxy = await RawFrames.ConnectAsync(proxy, ct);
        using var direct = new TcpClient { NoDelay = true };
        var (host, port) = ClusterLifecycleTests.FirstEndpoint(cluster.BootstrapServers);
        await direct.ConnectAsync(host, port, ct);
        var topicId = Assert.Single((await MetadataAsync(throughProxy.GetStream(), topic, ct)).Topics).TopicId;

        // Records (Fetch), and an error without a leader to name (Produce to a partition the topic lacks).
        var fetch = await BothAsync(throughProxy, direct, s => RawFrames.SendAsync(s, Fetch(topicId, maxWaitMs: 0), FetchVersion, 7, ct), ct);
        var produce = await BothAsync(throughProxy, direct, s => RawFrames.SendAsync(s, Produce(topic, partition: 5), ProduceVersion, 8, ct), ct);

        Assert.True(Assert.Single(Assert.Single(KafkaFrames.ReadResponse<FetchResponse>(fetch.Proxied, FetchVersion, null, out _).Responses).Partitions).Records?.Length > 0);
        Assert.Equal(Convert.ToHexString(fetch.Direct), Convert.ToHexString(fetch.Proxied));
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, Assert.Single(Assert.Single(KafkaFrames.ReadResponse<ProduceResponse>(produce.Proxied, ProduceVersion, null, out _).Responses).PartitionResponses).ErrorCode);
        Assert.Equal(Convert.ToHexString(produce.Direct), Convert.ToHexString(produce.Proxied));
    }

    [Fact(Timeout = 90_000)]
    public async Task Confluent_keeps_producing_through_the_proxy_when_the_leader_moves()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(3);
        await using var proxy = KafkaProxy.Start(cluster);
        var topic = NewTopic(cluster);
        cluster.SetPartitionLeader(topic, 0, 1);
        cluster.StartRequestTracking();
        using (var producer = ConfluentClients.Producer(proxy.BootstrapServers))
        {
            await ConfluentClients.ProduceOneAsync(producer, topic, 0, "before", ct).WaitAsync(AnswerWithin, ct);

            // Slow through the proxy, quick around it: the leader a Produce response names would be reached before the
            // Metadata refresh its error starts (through the proxy) could name the proxy's listener again.
            foreach (var listener in proxy.Brokers)
            {
                listener.Faults.Latency = TimeSpan.FromMilliseconds(200);
            }

            cluster.SetPartitionLeader(topic, 0, 2);
            for (var i = 0; i < 5; i++)
            {
                await ConfluentClients.ProduceOneAsync(producer, topic, 0, "after" + i, ct).WaitAsync(AnswerWithin, ct);
            }
        }

        // Every request each broker saw came through the proxy's listener for it: none around the proxy. (The proxy
        // counts a request once it is written to the broker, which may be just after the broker answered it.)
        Assert.Contains(cluster.GetTrackedRequests(), r => r.BrokerId == 2 && r.ApiKey == ApiKey.Produce);
        try
        {
            await Eventually.TrueAsync(() => AroundTheProxy(cluster, proxy) is null, AnswerWithin, "requests reached brokers around the proxy", ct);
        }
        catch (Xunit.Sdk.XunitException ex)
        {
            throw new Xunit.Sdk.XunitException(ex.Message + ": " + AroundTheProxy(cluster, proxy), ex);
        }
    }

    /// <summary>Which brokers saw more requests of a kind than the proxy passed them (broker, API, at the broker, through the proxy); null for none.</summary>
    private static string? AroundTheProxy(EmbeddedKafkaCluster cluster, KafkaProxy proxy)
    {
        var seen = new Dictionary<(int Broker, ApiKey Api), int>();
        foreach (var request in cluster.GetTrackedRequests())
        {
            seen[(request.BrokerId, request.ApiKey)] = seen.GetValueOrDefault((request.BrokerId, request.ApiKey)) + 1;
        }

        var around = seen.Where(s => s.Value != proxy.FaultsForNode(s.Key.Broker).Requests(s.Key.Api))
            .Select(s => s.Key.Broker + "/" + s.Key.Api + ": " + s.Value + " at the broker, " + proxy.FaultsForNode(s.Key.Broker).Requests(s.Key.Api) + " through the proxy");
        return around.Any() ? string.Join("; ", around) : null;
    }

    /// <summary>
    /// Sends <paramref name="request"/> (for a new topic, by name and id) to the proxy's first listener once partition 0
    /// of the topic moved to another broker, and checks the response names the proxy's listener for that broker.
    /// </summary>
    private static async Task AssertTheNewLeaderIsNamedThroughTheProxyAsync<TRequest, TResponse>(KafkaProxyOptions options, Func<string, Guid, TRequest> request, short version,
        Func<TResponse, (ErrorCode Error, int CurrentLeader, (int NodeId, string Host, int Port)[] Endpoints)> read, CancellationToken ct)
        where TRequest : IKafkaMessage<TRequest>
        where TResponse : IKafkaMessage<TResponse>
    {
        await using var cluster = EmbeddedKafkaCluster.Start(3);
        await using var proxy = KafkaProxy.Start(cluster, options);
        var topic = NewTopic(cluster);
        using var client = await RawFrames.ConnectAsync(proxy, ct);
        var stream = client.GetStream();
        var topicId = Assert.Single((await MetadataAsync(stream, topic, ct)).Topics).TopicId;
        var leader = proxy.Brokers[0].NodeId == 1 ? 2 : 1; // not the broker behind the connection
        cluster.SetPartitionLeader(topic, 0, leader);

        await RawFrames.SendAsync(stream, request(topic, topicId), version, 2, ct);
        var (error, currentLeader, endpoints) = read(KafkaFrames.ReadResponse<TResponse>(await ReadAsync(stream, ct), version, null, out _));

        Assert.Equal(ErrorCode.NotLeaderOrFollower, error);
        Assert.Equal(leader, currentLeader);
        var endpoint = Assert.Single(endpoints);
        Assert.Equal(leader, endpoint.NodeId);
        Assert.Equal(("localhost", proxy.Brokers.Single(l => l.NodeId == leader).Port), (endpoint.Host, endpoint.Port));
    }

    private static string NewTopic(EmbeddedKafkaCluster cluster)
    {
        var topic = "endpoints-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic, 1, 1);
        return topic;
    }

    private static ProduceRequest Produce(string topic, int partition) => new()
    {
        Acks = -1,
        TimeoutMs = 5_000,

        // Not a record batch: the broker refuses the partition (not its leader, or none) before it reads the records.
        TopicData = [new ProduceRequest.TopicProduceData { Name = topic, PartitionData = [new ProduceRequest.PartitionProduceData { Index = partition, Records = new byte[] { 1, 2, 3 } }] }],
    };

    private static FetchRequest Fetch(Guid topicId, int maxWaitMs) => new()
    {
        MaxWaitMs = maxWaitMs,
        MinBytes = 1,
        Topics = [new FetchRequest.FetchTopic { TopicId = topicId, Partitions = [new FetchRequest.FetchPartition { Partition = 0, FetchOffset = 0, PartitionMaxBytes = 1 << 20 }] }],
    };

    /// <summary>Metadata of <paramref name="topic"/> through the proxy: the proxy learns which broker each listener fronts.</summary>
    private static async Task<MetadataResponse> MetadataAsync(Stream stream, string topic, CancellationToken ct)
    {
        const short Version = 12;
        await RawFrames.SendAsync(stream, new MetadataRequest { Topics = [new MetadataRequest.MetadataRequestTopic { Name = topic }] }, Version, 1, ct);
        return KafkaFrames.ReadResponse<MetadataResponse>(await ReadAsync(stream, ct), Version, null, out _);
    }

    private static async Task<byte[]> ReadAsync(Stream stream, CancellationToken ct) =>
        await RawFrames.ReadAsync(stream, AnswerWithin, ct) ?? throw new IOException("The connection closed before the response.");

    /// <summary>The response to the same request sent through the proxy and straight to the broker.</summary>
    private static async Task<(byte[] Proxied, byte[] Direct)> BothAsync(TcpClient proxied, TcpClient direct, Func<Stream, Task> send, CancellationToken ct)
    {
        await send(proxied.GetStream());
        var throughProxy = await ReadAsync(proxied.GetStream(), ct);
        await send(direct.GetStream());
        return (throughProxy, await ReadAsync(direct.GetStream(), ct));
    }
}
