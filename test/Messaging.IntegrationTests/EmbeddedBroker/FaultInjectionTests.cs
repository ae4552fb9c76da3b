using Confluent.Kafka;
using System.Diagnostics;
using Messaging.IntegrationTests.Support;
using Messaging.Testing;
using Messaging.Testing.Brokers;
using ErrorCode = Messaging.ErrorCode;

namespace Messaging.IntegrationTests.EmbeddedBroker;

/// <summary>Each fault the embedded broker can inject has the effect it promises.</summary>
public sealed class FaultInjectionTests(TestBrokerFixture fixture)
{
    [Fact(Timeout = 60_000)]
    public async Task Round_trip_delay_holds_back_every_response_of_that_broker()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, faultInjection: true, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("rtt");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        using var producer = ConfluentClients.Producer(broker.BootstrapServers, c => c.LingerMs = 0);
        await ConfluentClients.ProduceOneAsync(producer, topic, 0, "warm-up", ct);

        broker.Faults!.SetBrokerRoundTripDelay(1, TimeSpan.FromMilliseconds(400));
        var clock = Stopwatch.StartNew();
        await ConfluentClients.ProduceOneAsync(producer, topic, 0, "delayed", ct);
        // A lower bound only: the response cannot arrive before the injected delay has passed.
        Assert.True(clock.ElapsedMilliseconds >= 380, $"delivery took {clock.ElapsedMilliseconds} ms with a 400 ms round-trip delay");
        broker.Faults.SetBrokerRoundTripDelay(1, TimeSpan.Zero);
    }

    [Fact(Timeout = 60_000)]
    public async Task Errors_pushed_onto_one_broker_are_consumed_by_its_requests_and_retried()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 3, faultInjection: true, cancellationToken: ct);
        var cluster = ((EmbeddedTestBroker)broker).Cluster;
        var topic = TestBrokerFixture.UniqueTopicName("broker-errors");
        await broker.CreateTopicAsync(topic, 1, 3, ct);
        cluster.SetPartitionLeader(topic, 0, 2);
        using var producer = ConfluentClients.Producer(broker.BootstrapServers);
        await ConfluentClients.ProduceOneAsync(producer, topic, 0, "warm-up", ct);

        cluster.PushBrokerRequestErrors(2, ApiKey.Produce, ErrorCode.NotEnoughReplicas, ErrorCode.RequestTimedOut);
        cluster.PushBrokerRequestErrors(2, ApiKey.Produce, (ErrorCode.None, TimeSpan.FromMilliseconds(300)));
        Assert.Equal(3, cluster.GetBrokerPendingErrorCount(2, ApiKey.Produce));
        Assert.Equal(0, cluster.GetBrokerPendingErrorCount(1, ApiKey.Produce));

        cluster.StartRequestTracking();
        var clock = Stopwatch.StartNew();
        var result = await ConfluentClients.ProduceOneAsync(producer, topic, 0, "retried", ct);
        Assert.Equal(PersistenceStatus.Persisted, result.Status);
        Assert.True(clock.ElapsedMilliseconds >= 280, "the third response was held back 300 ms");
        Assert.Equal(0, cluster.GetBrokerPendingErrorCount(2, ApiKey.Produce));
        Assert.Equal(3, cluster.GetTrackedRequests().Count(r => r.ApiKey == ApiKey.Produce && r.BrokerId == 2));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_moved_leader_is_where_the_client_produces_next()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 3, faultInjection: true, cancellationToken: ct);
        var faults = broker.Faults!;
        var topic = TestBrokerFixture.UniqueTopicName("leader-move");
        await broker.CreateTopicAsync(topic, 1, 3, ct);
        faults.SetPartitionLeader(topic, 0, 1);
        using var producer = ConfluentClients.Producer(broker.BootstrapServers);
        await ConfluentClients.ProduceOneAsync(producer, topic, 0, "on-1", ct);

        faults.SetPartitionLeader(topic, 0, 3);
        faults.StartRequestTracking();
        await ConfluentClients.ProduceOneAsync(producer, topic, 0, "on-3", ct);
        var produce = faults.GetTrackedRequests().Where(r => r.ApiKey == ApiKey.Produce).ToList();
        Assert.Equal(3, produce[^1].BrokerId); // the request that succeeded went to the new leader

        var records = ConfluentClients.ReadAll(broker.BootstrapServers, topic, 1, 2, TimeSpan.FromSeconds(30), ct);
        Assert.Equal(2, records.Count);
    }

    [Fact(Timeout = 90_000)]
    public async Task A_group_coordinator_set_by_the_test_serves_the_group()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 3, faultInjection: true, cancellationToken: ct);
        var cluster = ((EmbeddedTestBroker)broker).Cluster;
        var topic = TestBrokerFixture.UniqueTopicName("coordinated");
        var group = "group-" + Guid.NewGuid().ToString("N");
        await broker.CreateTopicAsync(topic, 1, 3, ct);
        cluster.SetGroupCoordinator(group, 2);
        cluster.SetGroupInitialRebalanceDelay(TimeSpan.Zero);
        using (var producer = ConfluentClients.Producer(broker.BootstrapServers))
        {
            await ConfluentClients.ProduceOneAsync(producer, topic, 0, "for-the-group", ct);
        }

        cluster.StartRequestTracking();
        using (var consumer = ConfluentClients.Consumer(broker.BootstrapServers, c => c.GroupId = group))
        {
            consumer.Subscribe(topic);
            Confluent.Kafka.ConsumeResult<byte[], byte[]>? record = null;
            var deadline = DateTime.UtcNow.AddSeconds(45);
            while (record is null && DateTime.UtcNow < deadline)
            {
                record = consumer.Consume(TimeSpan.FromMilliseconds(200));
            }

            Assert.NotNull(record);
            consumer.Commit(record);
            consumer.Close();
        }

        var groupRequests = cluster.GetTrackedRequests()
            .Where(r => r.ApiKey is ApiKey.JoinGroup or ApiKey.SyncGroup or ApiKey.OffsetCommit or ApiKey.Heartbeat or ApiKey.LeaveGroup or ApiKey.ConsumerGroupHeartbeat)
            .ToList();
        Assert.Contains(groupRequests, r => r.ApiKey is ApiKey.OffsetCommit);
        Assert.All(groupRequests, r => Assert.Equal(2, r.BrokerId));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_transaction_coordinator_set_by_the_test_serves_the_transactional_id()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 3, faultInjection: true, cancellationToken: ct);
        var faults = broker.Faults!;
        var transactionalId = "tx-" + Guid.NewGuid().ToString("N");
        faults.SetTransactionCoordinator(transactionalId, 3);

        faults.StartRequestTracking();
        using (var producer = ConfluentClients.Producer(broker.BootstrapServers, c => c.TransactionalId = transactionalId))
        {
            producer.InitTransactions(TimeSpan.FromSeconds(30));
        }

        var initProducerId = faults.GetTrackedRequests().Where(r => r.ApiKey == ApiKey.InitProducerId).ToList();
        Assert.NotEmpty(initProducerId);
        Assert.All(initProducerId, r => Assert.Equal(3, r.BrokerId));
    }

    [Fact]
    public void Faults_naming_a_broker_that_does_not_exist_fail_with_a_clear_error()
    {
        using var cluster = EmbeddedKafkaCluster.Start(brokers: 1);
        var down = Assert.Throws<EmbeddedKafkaException>(() => cluster.SetBrokerDown(7));
        Assert.Contains("broker 7", down.Message, StringComparison.Ordinal);
        Assert.Throws<EmbeddedKafkaException>(() => cluster.SetBrokerRoundTripDelay(9, TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => cluster.SetBrokerRoundTripDelay(1, TimeSpan.FromSeconds(-1)));
        cluster.CreateTopic("exists", 1);
        Assert.Throws<EmbeddedKafkaException>(() => cluster.CreateTopic("exists", 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => cluster.CreateTopic("too-replicated", 1, replicationFactor: 2));
    }
}
