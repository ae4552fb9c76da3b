using Messaging.IntegrationTests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.IntegrationTests.Producer;

/// <summary>The basic paths: ProduceAsync, Produce with a handler, flush, dispose.</summary>
public sealed class ProducerSmokeTests(TestBrokerFixture fixture)
{
    [Fact(Timeout = 60_000)]
    public async Task Produced_records_are_acknowledged_with_consecutive_offsets_and_read_back()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("smoke");
        await broker.CreateTopicAsync(topic, 1, 1, ct);
        await using var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = broker.BootstrapServers });

        var first = await producer.ProduceAsync(topic, "k"u8.ToArray(), SequencedPayload.Create(0, 20), cancellationToken: ct);
        Assert.Equal(topic, first.Topic);
        Assert.Equal(0, first.Partition);
        Assert.Equal(0, first.Offset);

        var offsets = new long[100];
        var errors = 0;
        for (var i = 1; i <= 100; i++)
        {
            producer.Produce(topic, "k"u8, SequencedPayload.Create(i, 20), static (in DeliveryResult r, ProduceException? e, object? s) =>
            {
                var (array, index) = ((long[], int))s!;
                array[index - 1] = e is null ? r.Offset : -2;
            }, (offsets, i));
        }

        await producer.FlushAsync(ct);
        Assert.Equal(0, errors);
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(i + 1, offsets[i]);
        }

        var records = ConfluentClients.ReadAll(broker.BootstrapServers, topic, 1, 101, TimeSpan.FromSeconds(30), ct);
        Assert.Equal(101, records.Count);
        for (var i = 0; i < 101; i++)
        {
            Assert.Equal(i, SequencedPayload.Read(records[i].Message.Value));
        }
    }
}
