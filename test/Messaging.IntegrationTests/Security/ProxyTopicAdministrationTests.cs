using Messaging.IntegrationTests.Consumer;
using Messaging.Protocol;
using Messaging.Protocol.Messages;
using Messaging.Testing;
using Messaging.Testing.Security;

namespace Messaging.IntegrationTests.Security;

/// <summary>
/// A proxy with <see cref="KafkaProxyOptions.AnswerTopicAdministration"/> in front of the embedded cluster answers
/// CreateTopics and DeleteTopics (which librdkafka's mock lacks) with the cluster's native calls: our admin client and
/// Confluent.Kafka's create and delete topics through it, and every refusal comes back per topic with Kafka's code.
/// </summary>
public sealed class ProxyTopicAdministrationTests
{
    private static readonly TimeSpan AnswerWithin = TimeSpan.FromSeconds(10);

    private static KafkaProxy AdministeringProxy(EmbeddedKafkaCluster cluster) =>
        KafkaProxy.Start(cluster, new KafkaProxyOptions { AnswerTopicAdministration = true });

    private static KafkaAdminClient Admin(string bootstrapServers) =>
        new(new KafkaAdminOptions { BootstrapServers = bootstrapServers, DefaultApiTimeout = TimeSpan.FromSeconds(20) });

    [Fact(Timeout = 60_000)]
    public async Task Our_admin_client_creates_a_topic_that_carries_records_and_deletes_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var setup = Setup.Start(brokers: 1);
        var (proxy, admin) = (setup.Proxy, setup.Admin);
        var topic = "created-" + Guid.NewGuid().ToString("N")[..8];

        await admin.CreateTopicsAsync([new NewTopic(topic, 3, 1)], cancellationToken: ct);

        var described = Assert.Single(await admin.DescribeTopicsAsync([topic], ct));
        Assert.Equal(3, described.Partitions.Count);
        Assert.NotEqual(Guid.Empty, described.TopicId);
        await using (var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = proxy.BootstrapServers }))
        {
            for (var partition = 0; partition < 3; partition++)
            {
                await producer.ProduceAsync(topic, (byte[]?)null, [(byte)partition], partition: partition, cancellationToken: ct);
            }
        }

        await using (var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(proxy.BootstrapServers)))
        {
            consumer.Assign(ConsumerTestSupport.All(topic, 3, OffsetSpec.Earliest));
            var records = await ConsumerTestSupport.ReadAsync(consumer, 3, TimeSpan.FromSeconds(30), ct);
            Assert.Equal(new[] { 0, 1, 2 }, records.Select(r => (int)r.Value![0]).Order());
        }

        await admin.DeleteTopicsAsync([topic], ct);

        var gone = await Assert.ThrowsAsync<KafkaAdminException>(() => admin.DescribeTopicsAsync([topic], ct));
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, Assert.IsType<KafkaErrorException>(gone.Errors[topic]).Code);
    }

    [Fact(Timeout = 60_000)]
    public async Task Minus_one_takes_four_partitions_and_one_replica_and_configs_are_accepted()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var setup = Setup.Start(brokers: 3);
        var admin = setup.Admin;
        var topic = "defaults-" + Guid.NewGuid().ToString("N")[..8];

        await admin.CreateTopicsAsync([new NewTopic(topic) { Configs = new Dictionary<string, string> { ["cleanup.policy"] = "compact" } }], cancellationToken: ct);

        var described = Assert.Single(await admin.DescribeTopicsAsync([topic], ct));
        Assert.Equal(4, described.Partitions.Count);
        Assert.All(described.Partitions, p => Assert.Single(p.Replicas));
    }

    [Fact(Timeout = 60_000)]
    public async Task Each_refused_topic_comes_back_with_its_kafka_error_and_the_valid_one_is_created()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var setup = Setup.Start(brokers: 2);
        var (cluster, admin) = (setup.Cluster, setup.Admin);
        var id = Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic("exists-" + id, 1, 1);
        cluster.CreateTopic("dotted." + id, 1, 1);

        var failure = await Assert.ThrowsAsync<KafkaAdminException>(() => admin.CreateTopicsAsync(
        [
            new NewTopic("exists-" + id, 1, 1),
            new NewTopic("zero-partitions-" + id, 0, 1),
            new NewTopic("minus-two-partitions-" + id, -2, 1),
            new NewTopic("three-replicas-" + id, 1, 3),
            new NewTopic("zero-replicas-" + id, 1, 0),
            new NewTopic("illegal name " + id, 1, 1),
            new NewTopic("..", 1, 1),
            new NewTopic(new string('x', 250), 1, 1),
            new NewTopic("dotted_" + id, 1, 1),
            new NewTopic("assigned-" + id) { ReplicaAssignments = new Dictionary<int, int[]> { [0] = [1] } },
            new NewTopic("fine-" + id, 2, 2),
        ], cancellationToken: ct));

        Assert.Equal(ErrorCode.TopicAlreadyExists, CodeOf(failure, "exists-" + id));
        Assert.Equal(ErrorCode.InvalidPartitions, CodeOf(failure, "zero-partitions-" + id));
        Assert.Equal(ErrorCode.InvalidPartitions, CodeOf(failure, "minus-two-partitions-" + id));
        Assert.Equal(ErrorCode.InvalidReplicationFactor, CodeOf(failure, "three-replicas-" + id));
        Assert.Equal(ErrorCode.InvalidReplicationFactor, CodeOf(failure, "zero-replicas-" + id));
        Assert.Equal(ErrorCode.InvalidTopicException, CodeOf(failure, "illegal name " + id));
        Assert.Equal(ErrorCode.InvalidTopicException, CodeOf(failure, ".."));
        Assert.Equal(ErrorCode.InvalidTopicException, CodeOf(failure, new string('x', 250)));
        Assert.Equal(ErrorCode.InvalidTopicException, CodeOf(failure, "dotted_" + id));
        Assert.Equal(ErrorCode.InvalidReplicaAssignment, CodeOf(failure, "assigned-" + id));
        Assert.Equal(10, failure.Errors.Count);

        var fine = Assert.Single(await admin.DescribeTopicsAsync(["fine-" + id], ct));
        Assert.Equal(2, fine.Partitions.Count);
        Assert.All(fine.Partitions, p => Assert.Equal(2, p.Replicas.Count));
        var refused = await Assert.ThrowsAsync<KafkaAdminException>(() => admin.DescribeTopicsAsync(["zero-partitions-" + id, "illegal name " + id], ct));
        Assert.Equal(2, refused.Errors.Count);
    }

    [Fact(Timeout = 60_000)]
    public async Task Validate_only_checks_without_creating()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var setup = Setup.Start(brokers: 1);
        var (cluster, admin) = (setup.Cluster, setup.Admin);
        var id = Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic("exists-" + id, 1, 1);

        await admin.CreateTopicsAsync([new NewTopic("would-be-" + id, 2, 1)], validateOnly: true, ct);
        var exists = await Assert.ThrowsAsync<KafkaAdminException>(() => admin.CreateTopicsAsync([new NewTopic("exists-" + id, 1, 1)], validateOnly: true, ct));
        var tooMany = await Assert.ThrowsAsync<KafkaAdminException>(() => admin.CreateTopicsAsync([new NewTopic("replicated-" + id, 1, 2)], validateOnly: true, ct));

        Assert.Equal(ErrorCode.TopicAlreadyExists, CodeOf(exists, "exists-" + id));
        Assert.Equal(ErrorCode.InvalidReplicationFactor, CodeOf(tooMany, "replicated-" + id));
        var missing = await Assert.ThrowsAsync<KafkaAdminException>(() => admin.DescribeTopicsAsync(["would-be-" + id], ct));
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, CodeOf(missing, "would-be-" + id));
    }

    [Fact(Timeout = 60_000)]
    public async Task Deleting_a_topic_that_does_not_exist_fails_with_unknown_topic_and_the_others_are_deleted()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var setup = Setup.Start(brokers: 1);
        var (cluster, admin) = (setup.Cluster, setup.Admin);
        var id = Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic("doomed-" + id, 1, 1);

        var failure = await Assert.ThrowsAsync<KafkaAdminException>(() => admin.DeleteTopicsAsync(["doomed-" + id, "never-" + id], ct));

        Assert.Equal(ErrorCode.UnknownTopicOrPartition, CodeOf(failure, "never-" + id));
        Assert.Single(failure.Errors);
        var gone = await Assert.ThrowsAsync<KafkaAdminException>(() => admin.DescribeTopicsAsync(["doomed-" + id], ct));
        Assert.Equal(ErrorCode.UnknownTopicOrPartition, CodeOf(gone, "doomed-" + id));
    }

    [Fact(Timeout = 60_000)]
    public async Task DeleteTopics_v6_by_topic_id_deletes_a_known_id_and_answers_UNKNOWN_TOPIC_ID_for_another()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var setup = Setup.Start(brokers: 1);
        var (cluster, proxy, admin) = (setup.Cluster, setup.Proxy, setup.Admin);
        var topic = "by-id-" + Guid.NewGuid().ToString("N")[..8];
        cluster.CreateTopic(topic, 1, 1);
        var topicId = Assert.Single(await admin.DescribeTopicsAsync([topic], ct)).TopicId;
        var unknownId = Guid.NewGuid();
        using var client = await RawFrames.ConnectAsync(proxy, ct);
        var stream = client.GetStream();

        await RawFrames.SendAsync(stream, new DeleteTopicsRequest
        {
            Topics = [new DeleteTopicsRequest.DeleteTopicState { Name = null, TopicId = topicId }, new DeleteTopicsRequest.DeleteTopicState { Name = null, TopicId = unknownId }],
            TimeoutMs = 10_000,
        }, 6, 1, ct);
        var response = KafkaFrames.ReadResponse<DeleteTopicsResponse>(await ReadFrameAsync(stream, "DeleteTopics", ct), 6, null, out var correlationId);

        Assert.Equal(1, correlationId);
        var deleted = Assert.Single(response.Responses, r => r.TopicId == topicId);
        Assert.Equal((topic, ErrorCode.None), (deleted.Name, deleted.ErrorCode));
        var unknown = Assert.Single(response.Responses, r => r.TopicId == unknownId);
        Assert.Null(unknown.Name);
        Assert.Equal(ErrorCode.UnknownTopicId, unknown.ErrorCode);
        await Assert.ThrowsAsync<KafkaAdminException>(() => admin.DescribeTopicsAsync([topic], ct));
    }

    [Fact(Timeout = 60_000)]
    public async Task ApiVersions_through_the_proxy_offers_both_apis_at_the_versions_it_answers_and_not_without_the_option()
    {
        var ct = TestContext.Current.CancellationToken;
        using var cluster = EmbeddedKafkaCluster.Start(brokers: 1);
        await using var answering = AdministeringProxy(cluster);
        await using var passing = KafkaProxy.Start(cluster);

        var offered = await ApiVersionsAsync(answering, ct);
        var plain = await ApiVersionsAsync(passing, ct);

        Assert.Equal((2, 7), Range(offered, ApiKey.CreateTopics));
        Assert.Equal((4, 6), Range(offered, ApiKey.DeleteTopics));
        Assert.DoesNotContain(plain.ApiKeys, k => k.ApiKey is ApiKey.CreateTopics or ApiKey.DeleteTopics);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_CreateTopics_behind_a_request_in_flight_is_answered_after_it()
    {
        var ct = TestContext.Current.CancellationToken;
        using var cluster = EmbeddedKafkaCluster.Start(brokers: 1);
        await using var proxy = AdministeringProxy(cluster);
        using var client = await RawFrames.ConnectAsync(proxy, ct);
        var stream = client.GetStream();
        cluster.CreateTopic("idle", 1, 1);

        // A Fetch of an empty partition that the broker answers only after its whole wait (the mock does not answer
        // sooner): it is still unanswered when the CreateTopics, which the proxy could answer at once, is read.
        await RawFrames.SendAsync(stream, new FetchRequest
        {
            MaxWaitMs = 1_000,
            MinBytes = 1,
            Topics = [new FetchRequest.FetchTopic { Topic = "idle", Partitions = [new FetchRequest.FetchPartition { Partition = 0, PartitionMaxBytes = 1 << 20 }] }],
        }, FetchRequest.MinVersion, 1, ct);
        await RawFrames.SendAsync(stream, new CreateTopicsRequest { Topics = [new CreateTopicsRequest.CreatableTopic { Name = "ordered", NumPartitions = 1, ReplicationFactor = 1 }] },
            CreateTopicsRequest.MaxVersion, 2, ct);

        Assert.Equal(1, KafkaFrames.PeekCorrelationId(await ReadFrameAsync(stream, "Fetch", ct)));
        var created = KafkaFrames.ReadResponse<CreateTopicsResponse>(await ReadFrameAsync(stream, "CreateTopics", ct), CreateTopicsRequest.MaxVersion, null, out var correlationId);
        Assert.Equal(2, correlationId);
        var result = Assert.Single(created.Topics);
        Assert.Equal(("ordered", ErrorCode.None, 1, (short)1), (result.Name, result.ErrorCode, result.NumPartitions, result.ReplicationFactor));
        Assert.NotEqual(Guid.Empty, result.TopicId);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_CreateTopics_that_cannot_be_decoded_closes_its_connection_and_the_proxy_serves_on()
    {
        var ct = TestContext.Current.CancellationToken;
        using var cluster = EmbeddedKafkaCluster.Start(brokers: 1);
        await using var proxy = AdministeringProxy(cluster);
        using (var client = await RawFrames.ConnectAsync(proxy, ct))
        {
            var stream = client.GetStream();
            // A v7 header (API key, version, correlation id, empty client id, no tagged fields), then a topic array that
            // claims 1,000 topics and ends there.
            byte[] garbage = [0, 0, 0, 13, 0, 19, 0, 7, 0, 0, 0, 1, 0, 0, 0, 0xE9, 0x07];
            await stream.WriteAsync(garbage, ct);
            Assert.Null(await RawFrames.ReadAsync(stream, AnswerWithin, ct));
        }

        await using var admin = Admin(proxy.BootstrapServers);
        await admin.CreateTopicsAsync([new NewTopic("after-garbage", 1, 1)], cancellationToken: ct);
        Assert.Single(await admin.DescribeTopicsAsync(["after-garbage"], ct));
    }

    [Fact(Timeout = 60_000)]
    public async Task Confluent_admin_client_creates_and_deletes_a_topic_through_the_proxy_and_gets_kafka_errors()
    {
        var ct = TestContext.Current.CancellationToken;
        using var cluster = EmbeddedKafkaCluster.Start(brokers: 1);
        await using var proxy = AdministeringProxy(cluster);
        await using var ours = Admin(cluster.BootstrapServers);
        var topic = "confluent-" + Guid.NewGuid().ToString("N")[..8];
        using var admin = new Confluent.Kafka.AdminClientBuilder(new Confluent.Kafka.AdminClientConfig { BootstrapServers = proxy.BootstrapServers }).Build();
        var options = new Confluent.Kafka.Admin.CreateTopicsOptions { RequestTimeout = TimeSpan.FromSeconds(20) };

        await admin.CreateTopicsAsync([new Confluent.Kafka.Admin.TopicSpecification { Name = topic, NumPartitions = 2, ReplicationFactor = 1 }], options);
        Assert.Equal(2, Assert.Single(await ours.DescribeTopicsAsync([topic], ct)).Partitions.Count);
        var again = await Assert.ThrowsAsync<Confluent.Kafka.Admin.CreateTopicsException>(() =>
            admin.CreateTopicsAsync([new Confluent.Kafka.Admin.TopicSpecification { Name = topic, NumPartitions = 2, ReplicationFactor = 1 }], options));
        Assert.Equal(Confluent.Kafka.ErrorCode.TopicAlreadyExists, Assert.Single(again.Results).Error.Code);

        await admin.DeleteTopicsAsync([topic], new Confluent.Kafka.Admin.DeleteTopicsOptions { RequestTimeout = TimeSpan.FromSeconds(20) });
        await Assert.ThrowsAsync<KafkaAdminException>(() => ours.DescribeTopicsAsync([topic], ct));
        var unknown = await Assert.ThrowsAsync<Confluent.Kafka.Admin.DeleteTopicsException>(() =>
            admin.DeleteTopicsAsync([topic], new Confluent.Kafka.Admin.DeleteTopicsOptions { RequestTimeout = TimeSpan.FromSeconds(20) }));
        Assert.Equal(Confluent.Kafka.ErrorCode.UnknownTopicOrPart, Assert.Single(unknown.Results).Error.Code);
    }

    [Fact]
    public void The_option_is_refused_for_a_proxy_in_front_of_bootstrap_servers()
    {
        var error = Assert.Throws<ArgumentException>(() => KafkaProxy.Start("127.0.0.1:9092", new KafkaProxyOptions { AnswerTopicAdministration = true }));

        Assert.Equal("options", error.ParamName);
        Assert.Contains("EmbeddedKafkaCluster", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A cluster, an administering proxy in front of it, and our admin client through the proxy.</summary>
    private sealed class Setup(EmbeddedKafkaCluster cluster, KafkaProxy proxy, KafkaAdminClient admin) : IAsyncDisposable
    {
        public EmbeddedKafkaCluster Cluster => cluster;

        public KafkaProxy Proxy => proxy;

        public KafkaAdminClient Admin => admin;

        public static Setup Start(int brokers)
        {
            var cluster = EmbeddedKafkaCluster.Start(brokers);
            var proxy = AdministeringProxy(cluster);
            return new Setup(cluster, proxy, Admin(proxy.BootstrapServers));
        }

        public async ValueTask DisposeAsync()
        {
            await admin.DisposeAsync();
            await proxy.DisposeAsync();
            await cluster.DisposeAsync();
        }
    }

    private static ErrorCode CodeOf(KafkaAdminException failure, string topic) =>
        Assert.IsType<KafkaErrorException>(failure.Errors[topic]).Code;

    private static (short Min, short Max) Range(ApiVersionsResponse response, ApiKey api)
    {
        var key = Assert.Single(response.ApiKeys, k => k.ApiKey == api);
        return (key.MinVersion, key.MaxVersion);
    }

    private static async Task<ApiVersionsResponse> ApiVersionsAsync(KafkaProxy proxy, CancellationToken ct)
    {
        using var client = await RawFrames.ConnectAsync(proxy, ct);
        var stream = client.GetStream();
        await RawFrames.SendAsync(stream, new ApiVersionsRequest(), 0, 1, ct);
        return KafkaFrames.ReadResponse<ApiVersionsResponse>(await ReadFrameAsync(stream, "ApiVersions", ct), 0, null, out _);
    }

    private static async Task<byte[]> ReadFrameAsync(Stream stream, string what, CancellationToken ct)
    {
        var frame = await RawFrames.ReadAsync(stream, AnswerWithin, ct);
        Assert.True(frame is not null, "The proxy closed the connection instead of answering " + what);
        return frame;
    }
}
