using Messaging.Consumer;
using Messaging.IntegrationTests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.IntegrationTests.Consumer;

/// <summary>Records written by Confluent.Kafka read back by our consumer, on every path.</summary>
public sealed class ConsumerRoundTripTests(TestBrokerFixture fixture)
{
    [Fact(Timeout = 60_000)]
    public async Task Typed_stream_reads_every_record_once_in_partition_order()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 3, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("roundtrip");
        await broker.CreateTopicAsync(topic, 4, 3, ct);
        var produced = await ConsumerTestSupport.ProduceAsync(broker.BootstrapServers, topic, 4, 2_000, 100, cancellationToken: ct);

        await using var consumer = ConsumerTestSupport.Bytes(ConsumerTestSupport.Options(broker.BootstrapServers));
        consumer.Assign(ConsumerTestSupport.All(topic, 4, StartOffset.Earliest));
        var results = await ConsumerTestSupport.ReadAsync(consumer, 2_000, TimeSpan.FromSeconds(30), ct);

        Assert.Equal(2_000, results.Count);
        foreach (var group in results.GroupBy(r => r.Partition))
        {
            var expected = produced[group.Key];
            var actual = group.ToList();
            Assert.Equal(expected.Count, actual.Count);
            for (int i = 0; i < actual.Count; i++)
            {
                Assert.Equal(i, actual[i].Offset);
                Assert.Equal(expected[i].Key, actual[i].Key);
                Assert.Equal(expected[i].Value, actual[i].Value);
            }

            Assert.Equal(expected.Count, consumer.Position(new TopicPartition(topic, group.Key)));
        }
    }
}
