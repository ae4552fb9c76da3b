using Messaging.IntegrationTests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.IntegrationTests.Producer;

/// <summary><c>TryProduce</c>: buffers and reports like <c>Produce</c> when it can, and never waits when it cannot.</summary>
public sealed class TryProduceTests(TestBrokerFixture fixture)
{
    private static void Count(in Messaging.DeliveryResult result, ProduceException? error, int[] counters) =>
        Interlocked.Increment(ref counters[error is null ? 0 : 1]);

    [Fact(Timeout = 60_000)]
    public async Task A_record_it_takes_is_delivered_and_reported_and_a_topic_without_metadata_is_declined()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("try-produce");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        await using var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = broker.BootstrapServers, Linger = TimeSpan.FromMilliseconds(1) });
        var counters = new int[2]; // delivered, failed

        // The producer has never seen the topic: taking the record would mean waiting for metadata.
        Assert.False(producer.TryProduce(topic, new ProducerRecord { Key = "k"u8, Value = "cold"u8 }, counters, Count));

        await producer.ProduceAsync(topic, "k"u8.ToArray(), "warm"u8.ToArray(), cancellationToken: ct);
        Assert.True(producer.TryProduce(topic, new ProducerRecord { Key = "k"u8, Value = "taken"u8 }, counters, Count));
        await producer.FlushAsync(ct);

        Assert.Equal([1, 0], counters); // the declined record was never reported: it was not taken
        await using var consumer = new KafkaConsumer(new KafkaConsumerOptions { BootstrapServers = broker.BootstrapServers });
        consumer.Assign([new TopicPartitionOffset(new TopicPartition(topic, 0), OffsetSpec.Earliest)]);
        var values = new List<string>();
        await foreach (var record in consumer.ConsumeRawAsync(ct))
        {
            values.Add(System.Text.Encoding.UTF8.GetString(record.Value.Span));
            record.Recycle();
            if (values.Count == 2)
            {
                break;
            }
        }

        Assert.Equal(["warm", "taken"], values);
    }

    [Fact(Timeout = 60_000)]
    public async Task With_the_broker_down_it_declines_once_memory_is_full_instead_of_blocking()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, faultInjection: true, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("try-produce-full");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        const long bufferMemory = 512 * 1024;
        await using var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = broker.BootstrapServers,
            BufferMemory = bufferMemory,
            BatchSize = 16 * 1024,
            MaxRequestSize = 64 * 1024,
            MaxBlock = TimeSpan.FromMinutes(5), // Produce would wait this long: a TryProduce that waited would time the test out
            Linger = TimeSpan.FromMilliseconds(1),
            DeliveryTimeout = TimeSpan.FromMinutes(6),
            ReconnectBackoff = TimeSpan.FromMilliseconds(50),
            ReconnectBackoffMax = TimeSpan.FromMilliseconds(200),
        });
        await producer.ProduceAsync(topic, "k"u8.ToArray(), "warm"u8.ToArray(), cancellationToken: ct);
        var connection = await producer.Core.Connections.GetAsync(1, ct);
        broker.Faults!.SetBrokerDown(1);
        await connection.Closed.WaitAsync(TimeSpan.FromSeconds(10), ct);

        var value = new byte[1000];
        var counters = new int[2];
        var taken = 0;
        while (producer.TryProduce(topic, new ProducerRecord { Key = "k"u8, Value = value }, counters, Count))
        {
            taken++;
            Assert.True(taken <= bufferMemory / value.Length, "TryProduce took more than buffer.memory holds");
        }

        Assert.InRange(taken * (long)value.Length, bufferMemory / 2, bufferMemory);
        Assert.Equal([0, 0], counters); // nothing reported yet: the taken records wait for the broker

        // Back up: every record it took is delivered and reported; the declined one was never taken.
        broker.Faults.SetBrokerUp(1);
        await producer.FlushAsync(ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
        Assert.Equal([taken, 0], counters);
    }
}
