using Messaging.IntegrationTests.Support;

namespace Messaging.Core.Tests.Producer;

/// <summary>
/// A cluster that replaces its brokers (new node ids over time): the sender of a broker that left the metadata is
/// released once it has nothing left to send, and a broker id that comes back gets a new sender.
/// </summary>
public sealed class DepartedBrokerSenderTests
{
    [Fact(Timeout = 30_000)]
    public async Task The_sender_of_a_broker_that_left_the_metadata_is_released_and_a_returning_broker_gets_a_new_one()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker();
        await using var producer = new KafkaProducer(new KafkaProducerOptions
        {
            BootstrapServers = broker.BootstrapServers,
            DeliveryTimeout = TimeSpan.FromSeconds(10),
            RequestTimeout = TimeSpan.FromSeconds(5),
            Linger = TimeSpan.Zero,
        });
        await producer.ProduceAsync(ScriptedProduceBroker.Topic, null, "first"u8.ToArray(), cancellationToken: ct);
        var first = Assert.Single(producer.Core.Senders.All);
        Assert.Equal(1, first.NodeId);

        // The broker is replaced by one with a new id (at the same address): node 1 leaves the metadata.
        broker.NodeId = 3;
        await producer.Core.Cluster.Metadata.RefreshAsync(ct);
        await producer.ProduceAsync(ScriptedProduceBroker.Topic, null, "second"u8.ToArray(), cancellationToken: ct);
        await Eventually.TrueAsync(() => producer.Core.Senders.All.All(s => s.NodeId != 1), TimeSpan.FromSeconds(10), "the sender of node 1, which left the metadata, being released", ct);
        Assert.Equal(3, Assert.Single(producer.Core.Senders.All).NodeId);

        // Node 1 comes back: it gets a sender of its own again, which delivers.
        broker.NodeId = 1;
        await producer.Core.Cluster.Metadata.RefreshAsync(ct);
        await producer.ProduceAsync(ScriptedProduceBroker.Topic, null, "third"u8.ToArray(), cancellationToken: ct);
        await Eventually.TrueAsync(() => producer.Core.Senders.All.All(s => s.NodeId != 3), TimeSpan.FromSeconds(10), "the sender of node 3, which left the metadata, being released", ct);
        var again = Assert.Single(producer.Core.Senders.All);
        Assert.Equal(1, again.NodeId);
        Assert.NotSame(first, again);
        Assert.Equal(3, broker.Written.Count);
    }
}
