using Messaging.Cluster;
using Messaging.IntegrationTests.Consumer;
using Messaging.Records;
using Messaging.Testing;
using Messaging.Testing.Brokers;

namespace Messaging.IntegrationTests.Cluster;

/// <summary>The one ListOffsets path (admin client and consumer): grouping by leader, retries, errors, timestamps.</summary>
public sealed class OffsetLookupTests(TestBrokerFixture fixture)
{
    private static readonly TimeSpan Backoff = TimeSpan.FromMilliseconds(20);

    private static ClusterClient Client(string bootstrap) => new(new KafkaClientOptions { BootstrapServers = bootstrap, ClientId = "offset-lookup-tests" });

    /// <summary>An embedded cluster with one topic (replicated on every broker) holding <paramref name="records"/> records per partition, and a lookup on it with the topic's metadata loaded.</summary>
    private async Task<Rig> StartAsync(int brokers, string name, int partitions, int records, CancellationToken cancellationToken)
    {
        var broker = await fixture.AcquireAsync(brokers, faultInjection: true, cancellationToken: cancellationToken);
        var topic = TestBrokerFixture.UniqueTopicName(name);
        await broker.CreateTopicAsync(topic, partitions, brokers, cancellationToken);
        if (records > 0)
        {
            await ConsumerTestSupport.ProduceAsync(broker.BootstrapServers, topic, partitions, partitions * records, 10, cancellationToken: cancellationToken);
        }

        var client = Client(broker.BootstrapServers);
        await client.Metadata.EnsureTopicsAsync([topic], cancellationToken);
        return new Rig(broker, topic, client, new OffsetLookup(client, Backoff));
    }

    private static List<KeyValuePair<TopicPartition, OffsetSpec>> Queries(string topic, int partitions, OffsetSpec spec)
    {
        var queries = new List<KeyValuePair<TopicPartition, OffsetSpec>>(partitions);
        for (int p = 0; p < partitions; p++)
        {
            queries.Add(new(new TopicPartition(topic, p), spec));
        }

        return queries;
    }

    private static List<int> ListOffsetsRequestsByBroker(IKafkaFaultInjector faults) =>
        [.. faults.GetTrackedRequests().Where(r => r.ApiKey == ApiKey.ListOffsets).Select(r => r.BrokerId).Order()];

    [Fact(Timeout = 60_000)]
    public async Task Queries_are_grouped_by_leader_one_request_per_broker()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rig = await StartAsync(brokers: 3, "grouped", partitions: 6, records: 5, ct);
        for (int p = 0; p < 6; p++)
        {
            rig.Faults.SetPartitionLeader(rig.Topic, p, 1 + (p % 3)); // two partitions led by each broker
        }

        await rig.Client.Metadata.RefreshAsync(ct);
        rig.Faults.StartRequestTracking();

        var latest = await rig.Lookup.LookUpAsync(Queries(rig.Topic, 6, OffsetSpec.Latest), IsolationLevel.ReadUncommitted, TimeSpan.FromSeconds(10), ct);

        Assert.Equal(6, latest.Count);
        foreach (var (partition, result) in latest)
        {
            Assert.True(result.Succeeded, partition + ": " + result.Error?.Message);
            Assert.Equal(5, result.Offset.Offset);
        }

        Assert.Equal([1, 2, 3], ListOffsetsRequestsByBroker(rig.Faults)); // one request per leader, none to a follower
    }

    [Fact(Timeout = 60_000)]
    public async Task Not_leader_is_retried_after_a_metadata_refresh_until_it_succeeds()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rig = await StartAsync(brokers: 3, "not-leader", partitions: 1, records: 7, ct);
        int refreshesBefore = rig.Client.Metadata.RequestsSent;
        rig.Faults.StartRequestTracking();
        rig.Faults.PushRequestErrors(ApiKey.ListOffsets, ErrorCode.NotLeaderOrFollower, ErrorCode.NotLeaderOrFollower);

        var result = (await rig.Lookup.LookUpAsync(Queries(rig.Topic, 1, OffsetSpec.Latest), IsolationLevel.ReadUncommitted, TimeSpan.FromSeconds(10), ct))[new TopicPartition(rig.Topic, 0)];

        Assert.True(result.Succeeded, result.Error?.Message);
        Assert.Equal(7, result.Offset.Offset);
        Assert.Equal(3, ListOffsetsRequestsByBroker(rig.Faults).Count); // two refused, the third answered
        Assert.True(rig.Client.Metadata.RequestsSent >= refreshesBefore + 2, "metadata was not refreshed before each retry");
    }

    [Fact(Timeout = 60_000)]
    public async Task One_round_reports_a_retriable_error_typed_and_asks_for_fresh_metadata()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rig = await StartAsync(brokers: 1, "one-round", partitions: 1, records: 0, ct);
        int refreshesBefore = rig.Client.Metadata.RequestsSent;
        rig.Faults.PushRequestErrors(ApiKey.ListOffsets, ErrorCode.NotLeaderOrFollower);

        var result = (await rig.Lookup.LookUpAsync(Queries(rig.Topic, 1, OffsetSpec.Earliest), IsolationLevel.ReadUncommitted, TimeSpan.Zero, ct))[new TopicPartition(rig.Topic, 0)];

        Assert.False(result.Succeeded);
        Assert.True(result.IsRetriable);
        Assert.Equal(ErrorCode.NotLeaderOrFollower, Assert.IsType<KafkaErrorException>(result.Error).Code);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (rig.Client.Metadata.RequestsSent == refreshesBefore)
        {
            Assert.True(DateTime.UtcNow < deadline, "no metadata refresh was requested for the caller's next round");
            await Task.Delay(10, ct);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_non_retriable_error_fails_the_partition_at_once()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rig = await StartAsync(brokers: 1, "denied", partitions: 1, records: 0, ct);
        rig.Faults.StartRequestTracking();
        rig.Faults.PushRequestErrors(ApiKey.ListOffsets, ErrorCode.TopicAuthorizationFailed);

        var result = (await rig.Lookup.LookUpAsync(Queries(rig.Topic, 1, OffsetSpec.Latest), IsolationLevel.ReadUncommitted, TimeSpan.FromSeconds(10), ct))[new TopicPartition(rig.Topic, 0)];

        Assert.False(result.IsRetriable);
        Assert.Equal(ErrorCode.TopicAuthorizationFailed, Assert.IsType<KafkaErrorException>(result.Error).Code);
        Assert.Single(ListOffsetsRequestsByBroker(rig.Faults));
    }

    [Fact(Timeout = 60_000)]
    public async Task Max_timestamp_on_a_broker_below_ListOffsets_v7_fails_alone_while_the_rest_is_answered()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, faultInjection: true, cancellationToken: ct);
        ((EmbeddedKafkaCluster)broker.Faults!).SetApiVersionRange(ApiKey.ListOffsets, 0, 6);
        var topic = TestBrokerFixture.UniqueTopicName("max-timestamp");
        await broker.CreateTopicAsync(topic, 2, 1, ct);
        await ConsumerTestSupport.ProduceAsync(broker.BootstrapServers, topic, 2, 6, 10, cancellationToken: ct);
        await using var client = Client(broker.BootstrapServers);
        var lookup = new OffsetLookup(client, Backoff);
        var p0 = new TopicPartition(topic, 0);
        var p1 = new TopicPartition(topic, 1);

        var results = await lookup.LookUpAsync([new(p0, OffsetSpec.MaxTimestamp), new(p1, OffsetSpec.Latest)], IsolationLevel.ReadUncommitted, TimeSpan.FromSeconds(10), ct);

        Assert.False(results[p0].IsRetriable);
        Assert.Equal(ErrorCode.UnsupportedVersion, Assert.IsType<KafkaErrorException>(results[p0].Error).Code);
        Assert.True(results[p1].Succeeded, results[p1].Error?.Message);
        Assert.Equal(3, results[p1].Offset.Offset);
    }

    [Fact(Timeout = 60_000)]
    public async Task Timestamps_find_the_first_record_at_or_after_the_time_or_none()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = FakeFetchBroker.Start();
        const string topic = "timestamps";
        fake.CreateTopic(topic, 1);
        using (var builder = new RecordBatchBuilder())
        {
            for (int i = 0; i < 10; i++)
            {
                builder.Append(5_000_000 + i * 1_000, default, [(byte)i]);
            }

            fake.Append(topic, 0, builder.Build().ToArray());
        }

        await using var client = Client(fake.BootstrapServers);
        var lookup = new OffsetLookup(client, Backoff);
        var partition = new TopicPartition(topic, 0);

        var within = await lookup.LookUpAsync([new(partition, OffsetSpec.ForTimestamp(DateTimeOffset.FromUnixTimeMilliseconds(5_003_500)))], IsolationLevel.ReadUncommitted, TimeSpan.FromSeconds(10), ct);
        var after = await lookup.LookUpAsync([new(partition, OffsetSpec.ForTimestamp(DateTimeOffset.FromUnixTimeMilliseconds(9_000_000)))], IsolationLevel.ReadUncommitted, TimeSpan.FromSeconds(10), ct);

        Assert.Equal(4, within[partition].Offset.Offset); // 5,004,000 is the first at or after 5,003,500
        Assert.True(after[partition].Succeeded);
        Assert.Equal(-1, after[partition].Offset.Offset); // no record that late: found nothing, not an error
    }

    [Fact(Timeout = 60_000)]
    public async Task The_embedded_broker_answers_timestamp_lookups_with_minus_one_which_a_consumer_reads_as_the_end()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rig = await StartAsync(brokers: 1, "mock-timestamps", partitions: 1, records: 4, ct);
        var partition = new TopicPartition(rig.Topic, 0);

        var result = await rig.Lookup.LookUpAsync([new(partition, OffsetSpec.ForTimestamp(DateTimeOffset.FromUnixTimeMilliseconds(1)))], IsolationLevel.ReadUncommitted, TimeSpan.FromSeconds(10), ct);

        Assert.True(result[partition].Succeeded, result[partition].Error?.Message);
        Assert.Equal(-1, result[partition].Offset.Offset); // a documented limit of librdkafka's mock cluster
    }

    [Fact(Timeout = 30_000)]
    public async Task An_exact_offset_is_not_a_lookup()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var client = Client("localhost:1");
        var lookup = new OffsetLookup(client, Backoff);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => lookup.LookUpAsync([new(new TopicPartition("t", 0), OffsetSpec.At(5))], IsolationLevel.ReadUncommitted, TimeSpan.Zero, ct));

        Assert.Contains("exact offset", error.Message, StringComparison.Ordinal);
    }

    private sealed record Rig(ITestBroker Broker, string Topic, ClusterClient Client, OffsetLookup Lookup) : IAsyncDisposable
    {
        public IKafkaFaultInjector Faults => Broker.Faults!;

        public async ValueTask DisposeAsync()
        {
            await Client.DisposeAsync();
            await Broker.DisposeAsync();
        }
    }
}
