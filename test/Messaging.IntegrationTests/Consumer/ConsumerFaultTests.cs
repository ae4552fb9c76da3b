using Messaging.Consumer;
using Messaging.IntegrationTests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.IntegrationTests.Consumer;

/// <summary>
/// Faults while consuming: leaders moved (the old leader says NOT_LEADER_OR_FOLLOWER, the new one FENCED_LEADER_EPOCH
/// until metadata catches up), a broker down and back up, injected Fetch errors — every record read once, in order,
/// with the position right.
/// </summary>
public sealed class ConsumerFaultTests(TestBrokerFixture fixture)
{
    private const int Partitions = 3;
    private const int Records = 3_000;

    [Fact(Timeout = 120_000)]
    public async Task Leader_moves_broker_restarts_and_fetch_errors_lose_or_repeat_nothing()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 3, faultInjection: true, cancellationToken: ct);
        var faults = broker.Faults!;
        var topic = TestBrokerFixture.UniqueTopicName("faults");
        await broker.CreateTopicAsync(topic, Partitions, 3, ct);
        for (int p = 0; p < Partitions; p++)
        {
            faults.SetPartitionLeader(topic, p, p + 1);
        }

        // Many small batches, so consuming takes many Fetches and the faults land in the middle.
        var produced = await ProduceSmallBatchesAsync(broker.BootstrapServers, topic, ct);

        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(broker.BootstrapServers, o =>
        {
            o.MaxBufferedBytes = 16 * 1024; // little prefetch: the faults hit fetches still to come
            o.MaxPollRecords = 20;
        }));
        consumer.Assign(ConsumerTestSupport.All(topic, Partitions, OffsetSpec.Earliest));
        var read = new List<ConsumeResult<byte[]?, byte[]?>>();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(90));
        int stage = 0;
        await foreach (var record in consumer.ConsumeAsync(timeout.Token))
        {
            read.Add(record);
            if (stage == 0 && read.Count >= Records / 4)
            {
                stage = 1;
                faults.SetPartitionLeader(topic, 0, 2); // moved while fetching: NOT_LEADER from 1, FENCED_LEADER_EPOCH from 2
                faults.SetPartitionLeader(topic, 1, 3);
            }
            else if (stage == 1 && read.Count >= Records / 2)
            {
                stage = 2;
                faults.SetBrokerDown(3);
                _ = Task.Run(async () =>
                {
                    await Task.Delay(700, ct);
                    faults.SetBrokerUp(3);
                }, ct);
            }
            else if (stage == 2 && read.Count >= 3 * Records / 4)
            {
                stage = 3;
                faults.PushRequestErrors(ApiKey.Fetch, ErrorCode.NotLeaderOrFollower, ErrorCode.FencedLeaderEpoch, ErrorCode.UnknownLeaderEpoch, ErrorCode.RequestTimedOut);
            }

            if (read.Count == Records)
            {
                break;
            }
        }

        Assert.Equal(3, stage);
        Assert.True(consumer.Fetcher.LeaderErrors > 0, "the moves were seen as leadership errors");
        Assert.True(consumer.Fetcher.FailedFetches > 0, "the broker outage and the injected errors failed fetches");
        Assert.Equal(Records, read.Count);
        for (int p = 0; p < Partitions; p++)
        {
            var mine = read.Where(r => r.Partition == p).ToList();
            Assert.Equal(produced[p].Count, mine.Count);
            for (int i = 0; i < mine.Count; i++)
            {
                Assert.Equal(i, mine[i].Offset); // once each, in order
                Assert.Equal(produced[p][i], mine[i].Value);
            }

            Assert.Equal(mine.Count, consumer.Position(new TopicPartition(topic, p)));
        }

        // Nothing more arrives afterwards (no duplicate delivered late).
        Assert.Empty(await ConsumerTestSupport.ReadAsync(consumer, 1, TimeSpan.FromMilliseconds(500), ct));
    }

    private static async Task<Dictionary<int, List<byte[]>>> ProduceSmallBatchesAsync(string bootstrap, string topic, CancellationToken cancellationToken)
    {
        var produced = new Dictionary<int, List<byte[]>>();
        using var producer = ConfluentClients.Producer(bootstrap, c =>
        {
            c.LingerMs = 0;
            c.BatchNumMessages = 25;
        });
        for (int i = 0; i < Records; i++)
        {
            var value = SequencedPayload.Create(i, 64);
            var result = i % 100 == 99
                ? await producer.ProduceAsync(new Confluent.Kafka.TopicPartition(topic, i % Partitions), new Confluent.Kafka.Message<byte[], byte[]> { Value = value }, cancellationToken)
                : null;
            if (result is null)
            {
                producer.Produce(new Confluent.Kafka.TopicPartition(topic, i % Partitions), new Confluent.Kafka.Message<byte[], byte[]> { Value = value });
            }

            if (!produced.TryGetValue(i % Partitions, out var list))
            {
                produced[i % Partitions] = list = [];
            }

            list.Add(value);
        }

        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(30)));
        return produced;
    }
}
