using Messaging.Cluster;
using Messaging.IntegrationTests.Consumer;
using Messaging.IntegrationTests.Support;
using Messaging.Protocol.Messages;
using Messaging.Testing.Brokers;
using Messaging.Testing.Security;

namespace Messaging.IntegrationTests.Security;

/// <summary>
/// Faults only the network can show, injected by the proxy: a connection cut in the middle of a frame while producing
/// (idempotent: nothing lost, nothing twice), a Produce acknowledgement cut on its way (the retry written once), a cut
/// while fetching, and a blackholed broker while another keeps serving.
/// </summary>
public sealed class NetworkFaultTests(TestBrokerFixture fixture)
{
    [Fact(Timeout = 90_000)]
    public async Task A_connection_cut_mid_frame_while_producing_loses_and_duplicates_nothing()
    {
        const int Records = 400;
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("cut-produce");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        await using var proxy = KafkaProxy.Start(broker.BootstrapServers);
        var faults = proxy.Brokers[0].Faults;

        await using (var producer = new KafkaProducer(IdempotentThrough(proxy)))
        {
            var deliveries = new List<Task<Messaging.DeliveryResult>>();
            for (var i = 0; i < Records; i++)
            {
                if (i == Records / 2)
                {
                    await Task.WhenAll(deliveries);
                    faults.CutAfterBytes(1_500, requestsOnly: true); // inside the next large Produce request (they carry ~200 records of 200 bytes)
                }

                deliveries.Add(producer.ProduceAsync(topic, (byte[]?)null, SequencedPayload.Create(i, 200), cancellationToken: ct).AsTask());
            }

            await Task.WhenAll(deliveries).WaitAsync(TimeSpan.FromSeconds(60), ct);
        }

        Assert.False(faults.CutPending, "the cut happened");
        var cut = faults.LastCut!;
        Assert.True(cut.ToBroker && cut.ApiKey == ApiKey.Produce && cut.IsMidFrame, "the cut fell inside a Produce request: " + cut);
        Assert.True(faults.Connections >= 2, "the producer reconnected after the cut");
        await AssertEachRecordOnceAsync(broker.BootstrapServers, topic, Records, ct);
    }

    [Fact(Timeout = 90_000)]
    public async Task A_produce_acknowledgement_cut_on_its_way_is_retried_and_written_exactly_once()
    {
        // The broker appends the records and its answer never arrives: the idempotent producer resends the same
        // sequence on a new connection, and the broker's de-duplication must leave each record in the log once.
        const int Records = 200;
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("cut-produce-ack");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        await using var proxy = KafkaProxy.Start(broker.BootstrapServers);
        var faults = proxy.Brokers[0].Faults;

        await using (var producer = new KafkaProducer(IdempotentThrough(proxy)))
        {
            await producer.ProduceAsync(topic, (byte[]?)null, SequencedPayload.Create(0, 200), cancellationToken: ct);
            faults.CutResponse(ApiKey.Produce, bytes: 10); // the next Produce's answer: inside its header
            var deliveries = new List<Task<Messaging.DeliveryResult>>();
            for (var i = 1; i < Records; i++)
            {
                deliveries.Add(producer.ProduceAsync(topic, (byte[]?)null, SequencedPayload.Create(i, 200), cancellationToken: ct).AsTask());
            }

            await Task.WhenAll(deliveries).WaitAsync(TimeSpan.FromSeconds(60), ct);
        }

        Assert.False(faults.CutPending, "the cut happened");
        var cut = faults.LastCut!;
        Assert.True(!cut.ToBroker && cut.ApiKey == ApiKey.Produce && cut.BytesPassed == 10, "the cut fell inside a Produce response: " + cut);
        Assert.True(faults.Requests(ApiKey.Produce) >= 3, "the cut request was sent again");
        await AssertEachRecordOnceAsync(broker.BootstrapServers, topic, Records, ct);
    }

    [Fact(Timeout = 90_000)]
    public async Task A_connection_cut_mid_frame_while_fetching_delivers_every_record_once()
    {
        const int Records = 300;
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("cut-fetch");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        await using (var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = broker.BootstrapServers }))
        {
            for (var i = 0; i < Records; i++)
            {
                await producer.ProduceAsync(topic, (byte[]?)null, SequencedPayload.Create(i, 1_000), cancellationToken: ct);
            }
        }

        await using var proxy = KafkaProxy.Start(broker.BootstrapServers);
        var faults = proxy.Brokers[0].Faults;
        faults.CutAfterBytes(50_000); // past the handshake and metadata, inside the first large Fetch response
        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(proxy.BootstrapServers));
        consumer.Assign(ConsumerTestSupport.All(topic, 1, OffsetSpec.Earliest));
        var results = await ConsumerTestSupport.ReadAsync(consumer, Records, TimeSpan.FromSeconds(60), ct);

        Assert.False(faults.CutPending, "the cut happened");
        var cut = faults.LastCut!;
        Assert.True(!cut.ToBroker && cut.ApiKey == ApiKey.Fetch && cut.IsMidFrame, "the cut fell inside a Fetch response: " + cut);
        Assert.True(faults.Connections >= 2, "the consumer reconnected after the cut");
        Assert.Equal(Enumerable.Range(0, Records), results.Select(r => SequencedPayload.Read(r.Value!)));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_blackholed_broker_times_out_with_the_typed_error_while_the_other_keeps_serving()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 2, cancellationToken: ct);
        await using var proxy = KafkaProxy.Start(broker.BootstrapServers);
        await using var cluster = new ClusterClient(new KafkaClientOptions { BootstrapServers = proxy.BootstrapServers, RequestTimeout = TimeSpan.FromSeconds(1) });
        var metadata = await cluster.Metadata.RefreshAsync(ct);
        var ids = metadata.Brokers.Keys.Order().ToArray();
        Assert.Equal(2, ids.Length);
        var healthy = await cluster.Connections.GetAsync(ids[0], ct);
        var silent = await cluster.Connections.GetAsync(ids[1], ct);

        proxy.FaultsForNode(ids[1]).Blackhole = true;
        var timingOut = silent.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = null }, ct).AsTask();
        var served = await healthy.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = null }, ct);
        Assert.Equal(2, served.Brokers.Length);
        Assert.False(timingOut.IsCompleted, "the blackholed broker answered");

        var error = await Assert.ThrowsAsync<KafkaTimeoutException>(() => timingOut);
        Assert.Equal(ApiKey.Metadata, error.ApiKey);
        Assert.True(healthy.IsOpen);
        _ = await healthy.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = null }, ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task Latency_and_a_bandwidth_cap_slow_the_consumer_without_breaking_it()
    {
        const int Records = 50;
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("slow");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        await using var proxy = KafkaProxy.Start(broker.BootstrapServers);
        var faults = proxy.Brokers[0].Faults;
        faults.Latency = TimeSpan.FromMilliseconds(20);
        faults.BytesPerSecond = 200_000;

        await using (var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = proxy.BootstrapServers }))
        {
            var deliveries = Enumerable.Range(0, Records).Select(i => producer.ProduceAsync(topic, (byte[]?)null, SequencedPayload.Create(i, 2_000), cancellationToken: ct).AsTask()).ToList();
            await Task.WhenAll(deliveries);
        }

        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(proxy.BootstrapServers));
        consumer.Assign(ConsumerTestSupport.All(topic, 1, OffsetSpec.Earliest));
        var results = await ConsumerTestSupport.ReadAsync(consumer, Records, TimeSpan.FromSeconds(30), ct);
        Assert.Equal(Enumerable.Range(0, Records), results.Select(r => SequencedPayload.Read(r.Value!)));
        Assert.True(faults.BytesToClient >= Records * 2_000, "the records came through the capped link");
    }

    /// <summary>An idempotent producer through <paramref name="proxy"/> that reconnects and retries within milliseconds of a cut.</summary>
    private static KafkaProducerOptions IdempotentThrough(KafkaProxy proxy) => new()
    {
        BootstrapServers = proxy.BootstrapServers,
        EnableIdempotence = true,
        ReconnectBackoff = TimeSpan.FromMilliseconds(20),
        ReconnectBackoffMax = TimeSpan.FromMilliseconds(200),
        RetryBackoff = TimeSpan.FromMilliseconds(20),
    };

    /// <summary>Reads the one-partition topic back (from the broker, not through the proxy): records 0 to <paramref name="records"/> − 1 each exactly once.</summary>
    private static async Task AssertEachRecordOnceAsync(string bootstrapServers, string topic, int records, CancellationToken ct)
    {
        var audit = await IdempotentLogAudit.ReadAsync(bootstrapServers, topic, 1, records, ct);
        var first = audit.FirstNotExactlyOnce();
        Assert.True(first < 0, $"record {first} is in the log {(first < 0 ? 1 : audit.Seen[first])} times");
    }
}
