using Confluent.Kafka;
using ErrorCode = Messaging.ErrorCode;
using Messaging.IntegrationTests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.IntegrationTests.Cluster;

public sealed class AdminClientTests(TestBrokerFixture fixture)
{
    private static KafkaAdminClient Admin(string bootstrap, Action<KafkaAdminOptions>? configure = null)
    {
        var options = new KafkaAdminOptions { BootstrapServers = bootstrap, DefaultApiTimeout = TimeSpan.FromSeconds(20) };
        configure?.Invoke(options);
        return new KafkaAdminClient(options);
    }

    [Fact(Timeout = 60_000)]
    public async Task Create_describe_and_delete_topics_on_a_broker_that_has_the_apis_or_name_the_missing_api()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(cancellationToken: ct);
        await using var admin = Admin(broker.BootstrapServers);
        var topic = TestBrokerFixture.UniqueTopicName("admin");
        if (broker.Kind == TestBrokerKind.Embedded)
        {
            // librdkafka's mock cluster has no CreateTopics/DeleteTopics: the call names the API it lacks.
            var missing = await Assert.ThrowsAsync<UnsupportedApiVersionException>(() => admin.CreateTopicsAsync([new NewTopic(topic, 3, 1)], cancellationToken: ct));
            Assert.Equal(ApiKey.CreateTopics, missing.ApiKey);
            Assert.Null(missing.BrokerMaxVersion);
            await Assert.ThrowsAsync<UnsupportedApiVersionException>(() => admin.DeleteTopicsAsync([topic], ct));
            return;
        }

        await admin.CreateTopicsAsync([new NewTopic(topic, 3, 1) { Configs = new Dictionary<string, string> { ["retention.ms"] = "3600000" } }], cancellationToken: ct);
        var exists = await Assert.ThrowsAsync<KafkaAdminException>(() => admin.CreateTopicsAsync([new NewTopic(topic, 3, 1)], cancellationToken: ct));
        Assert.Equal(ErrorCode.TopicAlreadyExists, ((KafkaErrorException)exists.Errors[topic]).Code);
        var described = Assert.Single(await admin.DescribeTopicsAsync([topic], ct));
        Assert.Equal(3, described.Partitions.Count);
        await admin.DeleteTopicsAsync([topic], ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task Describing_cluster_and_topics_and_auto_creation_as_an_explicit_option()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 3, faultInjection: true, cancellationToken: ct);
        var existing = TestBrokerFixture.UniqueTopicName("existing");
        await broker.CreateTopicAsync(existing, 5, 3, ct);

        await using (var admin = Admin(broker.BootstrapServers))
        {
            var cluster = await admin.DescribeClusterAsync(ct);
            Assert.Equal(3, cluster.Brokers.Count);
            Assert.NotNull(cluster.ClusterId);
            Assert.Equal(5, Assert.Single(await admin.DescribeTopicsAsync([existing], ct)).Partitions.Count);

            var absent = TestBrokerFixture.UniqueTopicName("absent");
            var error = await Assert.ThrowsAsync<KafkaAdminException>(() => admin.DescribeTopicsAsync([absent], ct));
            Assert.Equal(ErrorCode.UnknownTopicOrPartition, ((KafkaErrorException)error.Errors[absent]).Code);
        }

        await using (var autoCreating = Admin(broker.BootstrapServers, o => o.AllowAutoCreateTopics = true))
        {
            var created = TestBrokerFixture.UniqueTopicName("auto");
            var info = Assert.Single(await autoCreating.DescribeTopicsAsync([created], ct));
            Assert.Equal(created, info.Name);
            Assert.NotEmpty(info.Partitions);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task List_offsets_earliest_latest_and_by_timestamp()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 3, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("offsets");
        await broker.CreateTopicAsync(topic, 2, 3, ct);
        var start = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000);
        using (var producer = ConfluentClients.Producer(broker.BootstrapServers))
        {
            for (var i = 0; i < 10; i++)
            {
                await producer.ProduceAsync(new Confluent.Kafka.TopicPartition(topic, 0), new Message<byte[], byte[]>
                {
                    Key = [(byte)i], Value = [(byte)i], Timestamp = new Confluent.Kafka.Timestamp(start.AddSeconds(i)),
                }, ct);
            }
        }

        await using var admin = Admin(broker.BootstrapServers);
        var p0 = new Messaging.TopicPartition(topic, 0);
        var p1 = new Messaging.TopicPartition(topic, 1);
        var earliest = await admin.ListOffsetsAsync([new(p0, OffsetSpec.Earliest), new(p1, OffsetSpec.Earliest)], cancellationToken: ct);
        var latest = await admin.ListOffsetsAsync([new(p0, OffsetSpec.Latest), new(p1, OffsetSpec.Latest)], cancellationToken: ct);
        Assert.Equal(0, earliest[p0].Offset);
        Assert.Equal(10, latest[p0].Offset);
        Assert.Equal(0, latest[p1].Offset); // nothing written there

        var byTime = await admin.ListOffsetsAsync([new(p0, OffsetSpec.ForTimestamp(start.AddSeconds(4)))], cancellationToken: ct);
        if (broker.Kind != TestBrokerKind.Embedded)
        {
            Assert.Equal(4, byTime[p0].Offset); // the embedded broker answers every timestamp lookup with -1 (a documented mock limit)
        }

        var unknown = new Messaging.TopicPartition(TestBrokerFixture.UniqueTopicName("nope"), 0);
        await Assert.ThrowsAsync<KafkaAdminException>(() => admin.ListOffsetsAsync([new(unknown, OffsetSpec.Latest)], cancellationToken: ct));
        await Assert.ThrowsAsync<ArgumentException>(() => admin.ListOffsetsAsync([new(p0, OffsetSpec.At(3))], cancellationToken: ct)); // an exact offset is not a lookup
    }
}
