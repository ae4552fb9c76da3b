using Messaging.IntegrationTests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.IntegrationTests.EmbeddedBroker;

// Confluent.Kafka is this file's peer client: its type names (ConsumeResult, TopicPartition, ...) win over ours here.
using Confluent.Kafka;

/// <summary>A broker taken down mid-stream and brought back: every record is delivered exactly once.</summary>
public sealed class BrokerOutageTests(TestBrokerFixture fixture)
{
    [Fact(Timeout = 120_000)]
    public async Task Records_produced_across_a_broker_outage_are_each_delivered_exactly_once()
    {
        const int Records = 3_000;
        const int Partitions = 6;
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 3, faultInjection: true, cancellationToken: ct);
        var faults = broker.Faults!;
        var topic = TestBrokerFixture.UniqueTopicName("outage");
        await broker.CreateTopicAsync(topic, Partitions, replicationFactor: 3, ct);

        var reports = new DeliveryReport<byte[], byte[]>?[Records];
        using (var producer = ConfluentClients.Producer(broker.BootstrapServers, c => c.MessageTimeoutMs = 90_000))
        {
            for (var i = 0; i < Records; i++)
            {
                if (i == Records / 3)
                {
                    faults.SetBrokerDown(2);
                }

                if (i == 2 * Records / 3)
                {
                    // Keep broker 2 down long enough that its partitions pile up retries, then bring it back.
                    await Task.Delay(1_500, ct);
                    faults.SetBrokerUp(2);
                }

                var sequence = i;
                producer.Produce(
                    new Confluent.Kafka.TopicPartition(topic, i % Partitions),
                    new Message<byte[], byte[]> { Key = BitConverter.GetBytes(i), Value = SequencedPayload.Create(i, 64) },
                    report => reports[sequence] = report);
                if (i % 100 == 0)
                {
                    await Task.Delay(10, ct); // spread production over the outage
                }
            }

            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(90)));
        }

        for (var i = 0; i < Records; i++)
        {
            Assert.NotNull(reports[i]);
            Assert.False(reports[i]!.Error.IsError, $"record {i}: {reports[i]!.Error}");
            Assert.Equal(PersistenceStatus.Persisted, reports[i]!.Status);
        }

        var records = ConfluentClients.ReadAll(broker.BootstrapServers, topic, Partitions, Records, TimeSpan.FromSeconds(60), ct);
        var counts = new int[Records];
        foreach (var record in records)
        {
            var sequence = SequencedPayload.Read(record.Message.Value);
            counts[sequence]++;
            Assert.Equal(reports[sequence]!.Offset.Value, record.Offset.Value);
        }

        for (var i = 0; i < Records; i++)
        {
            Assert.True(counts[i] == 1, $"record {i} was stored {counts[i]} times");
        }
    }
}
