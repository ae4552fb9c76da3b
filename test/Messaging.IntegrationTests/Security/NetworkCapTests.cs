using Messaging.IntegrationTests.Consumer;
using Messaging.IntegrationTests.Support;
using Messaging.Records;
using Messaging.Testing.Brokers;
using Messaging.Testing.Security;

namespace Messaging.IntegrationTests.Security;

/// <summary>
/// A slow network keeps the client's efficiencies: under a bandwidth cap the producer sends fewer, larger requests
/// instead of failing, and with latency the consumer's incremental fetch session (KIP-227) carries on.
/// </summary>
public sealed class NetworkCapTests(TestBrokerFixture fixture)
{
    [Fact(Timeout = 90_000)]
    public async Task Under_a_bandwidth_cap_the_producer_batches_more_per_request_and_nothing_fails()
    {
        const int Records = 3_000;
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("capped");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        await using var proxy = KafkaProxy.Start(broker.BootstrapServers);
        var faults = proxy.Brokers[0].Faults;
        faults.BytesPerSecond = 100_000; // ~350 KB of records: a few seconds through the cap, far below the timeouts
        faults.Latency = TimeSpan.FromMilliseconds(10);

        int connections;
        await using (var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = proxy.BootstrapServers }))
        {
            var deliveries = new Task<DeliveryResult>[Records];
            deliveries[0] = producer.ProduceAsync(topic, (byte[]?)null, SequencedPayload.Create(0, 100), cancellationToken: ct).AsTask();
            await deliveries[0];
            connections = faults.Connections;
            for (var i = 1; i < Records; i++)
            {
                deliveries[i] = producer.ProduceAsync(topic, (byte[]?)null, SequencedPayload.Create(i, 100), cancellationToken: ct).AsTask();
            }

            await Task.WhenAll(deliveries).WaitAsync(TimeSpan.FromSeconds(60), ct); // any failed delivery fails the test here
        }

        // Records pile up while a request crawls through the cap, so each request takes a full batch: few requests.
        var requests = faults.Requests(ApiKey.Produce);
        Assert.InRange(requests, 1, Records / 20);
        Assert.Equal(connections, faults.Connections); // no request timed out and took its connection down

        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(broker.BootstrapServers));
        consumer.Assign(ConsumerTestSupport.All(topic, 1, OffsetSpec.Earliest));
        var results = await ConsumerTestSupport.ReadAsync(consumer, Records, TimeSpan.FromSeconds(30), ct);
        Assert.Equal(Enumerable.Range(0, Records), results.Select(r => SequencedPayload.Read(r.Value!)));
    }

    [Fact(Timeout = 60_000)]
    public async Task With_latency_the_fetch_session_carries_on_incrementally()
    {
        const string Topic = "slow-sessions";
        const int Rounds = 5;
        var ct = TestContext.Current.CancellationToken;
        await using var fake = FakeFetchBroker.Start(sessions: true);
        fake.CreateTopic(Topic, 2);
        await using var proxy = KafkaProxy.Start(fake.BootstrapServers);
        proxy.Brokers[0].Faults.Latency = TimeSpan.FromMilliseconds(40);
        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(proxy.BootstrapServers));
        consumer.Assign(ConsumerTestSupport.All(Topic, 2, OffsetSpec.Earliest));

        var connections = 0;

        // New records now and then, each round read before the next, so fetches go on across many round trips.
        for (var round = 0; round < Rounds; round++)
        {
            fake.Append(Topic, round % 2, Batch(round, 4));
            var read = await ConsumerTestSupport.ReadAsync(consumer, 4, TimeSpan.FromSeconds(20), ct);
            Assert.Equal(4, read.Count);
            connections = round == 0 ? proxy.Connections : connections;
        }

        var fetches = fake.Fetches;
        Assert.True(fetches.Count >= Rounds, fetches.Count + " fetches");
        Assert.Equal(0, fetches[0].SessionEpoch); // the full fetch that opened the session
        for (var i = 1; i < fetches.Count; i++)
        {
            // Every later fetch is incremental in the same session, epochs one after another: never reset to a full one.
            Assert.Equal(fetches[1].SessionId, fetches[i].SessionId);
            Assert.Equal(i, fetches[i].SessionEpoch);
        }

        Assert.Equal(connections, proxy.Connections); // the latency took no connection down
    }

    private static byte[] Batch(int round, int count)
    {
        using var builder = new RecordBatchBuilder();
        for (var i = 0; i < count; i++)
        {
            builder.Append(1_700_000_000_000 + (round * count) + i, default, System.Text.Encoding.UTF8.GetBytes("r" + round + "-" + i));
        }

        return builder.Build().ToArray();
    }
}
