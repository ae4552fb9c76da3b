using Messaging.IntegrationTests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.IntegrationTests.EmbeddedBroker;

/// <summary>Request tracking shows what a client sent; injected errors are seen and retried by the client.</summary>
public sealed class RequestTrackingTests(TestBrokerFixture fixture)
{
    [Fact(Timeout = 60_000)]
    public async Task Tracking_shows_the_produce_and_fetch_requests_a_client_sent_and_to_which_broker()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 3, faultInjection: true, cancellationToken: ct);
        var faults = broker.Faults!;
        var topic = TestBrokerFixture.UniqueTopicName("tracked");
        await broker.CreateTopicAsync(topic, partitions: 1, replicationFactor: 3, ct);
        faults.SetPartitionLeader(topic, 0, brokerId: 3);

        faults.StartRequestTracking();
        using (var producer = ConfluentClients.Producer(broker.BootstrapServers))
        {
            await ConfluentClients.ProduceOneAsync(producer, topic, 0, "tracked", ct);
        }

        Assert.Single(ConfluentClients.ReadAll(broker.BootstrapServers, topic, 1, 1, TimeSpan.FromSeconds(30), ct));
        faults.StopRequestTracking();
        var requests = faults.GetTrackedRequests();

        var produce = requests.Where(r => r.ApiKey == ApiKey.Produce).ToList();
        var fetch = requests.Where(r => r.ApiKey == ApiKey.Fetch).ToList();
        Assert.True(produce.Count > 0 && fetch.Count > 0, "tracked: " + string.Join(", ", requests));
        Assert.All(produce, r => Assert.Equal(3, r.BrokerId)); // the leader we set
        Assert.Contains(requests, r => r.ApiKey == ApiKey.ApiVersions);
        Assert.Contains(requests, r => r.ApiKey == ApiKey.Metadata);

        // Arrival order: timestamps never go backwards.
        for (var i = 1; i < requests.Count; i++)
        {
            Assert.True(requests[i].MonotonicMicroseconds >= requests[i - 1].MonotonicMicroseconds);
        }

        // Stopped means stopped; cleared means cleared.
        using (var producer = ConfluentClients.Producer(broker.BootstrapServers))
        {
            await ConfluentClients.ProduceOneAsync(producer, topic, 0, "untracked", ct);
        }

        Assert.Equal(requests.Count, faults.GetTrackedRequests().Count);
        faults.ClearTrackedRequests();
        Assert.Empty(faults.GetTrackedRequests());
    }

    [Fact(Timeout = 60_000)]
    public async Task An_injected_not_leader_error_on_produce_is_retried_and_the_record_arrives_once()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 3, faultInjection: true, cancellationToken: ct);
        var faults = broker.Faults!;
        var topic = TestBrokerFixture.UniqueTopicName("not-leader");
        await broker.CreateTopicAsync(topic, partitions: 1, replicationFactor: 3, ct);

        using var producer = ConfluentClients.Producer(broker.BootstrapServers);
        await ConfluentClients.ProduceOneAsync(producer, topic, 0, "warm-up", ct); // connections and producer id in place

        faults.StartRequestTracking();
        faults.PushRequestErrors(ApiKey.Produce, ErrorCode.NotLeaderOrFollower, ErrorCode.NotLeaderOrFollower);
        var result = await ConfluentClients.ProduceOneAsync(producer, topic, 0, "after-errors", ct);
        faults.StopRequestTracking();

        Assert.Equal(Confluent.Kafka.PersistenceStatus.Persisted, result.Status);
        var tracked = faults.GetTrackedRequests();
        Assert.True(tracked.Count(r => r.ApiKey == ApiKey.Produce) >= 3, "two failed Produce requests and the one that succeeded; tracked: " + string.Join(", ", tracked));

        var records = ConfluentClients.ReadAll(broker.BootstrapServers, topic, 1, 2, TimeSpan.FromSeconds(30), ct);
        Assert.Equal(["warm-up", "after-errors"], records.Select(r => System.Text.Encoding.UTF8.GetString(r.Message.Value)));
    }
}
