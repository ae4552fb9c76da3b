using Messaging.Connection;

namespace Messaging.Core.Tests.Connection;

/// <summary>
/// A connection attempt still under way when its broker leaves the metadata (or moves) must not leave behind a
/// connection nobody tracks: the client's idle sweep and disposal only see the brokers it knows.
/// </summary>
public sealed class RetiredBrokerConnectTests
{
    private static readonly BrokerEndpoint Broker = new("broker1.test", 9092, NodeId: 1);

    [Fact(Timeout = 10_000)]
    public async Task A_connect_that_finishes_after_its_broker_left_the_metadata_is_closed_and_fails_retriably()
    {
        var ct = TestContext.Current.CancellationToken;
        var broker = new InMemoryBroker { ConnectGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        var settings = new ConnectionSettings(new KafkaClientOptions { BootstrapServers = "broker1.test:9092", TransportFactory = broker });
        var connections = new BrokerConnections(settings, [Broker]);
        try
        {
            connections.UpdateBrokers([Broker]);
            var getting = connections.GetAsync(1, ct).AsTask();
            await broker.ConnectStarted.Task.WaitAsync(ct);

            connections.UpdateBrokers([]); // broker 1 left while its connect is under way
            broker.ConnectGate.SetResult();

            var error = await Assert.ThrowsAsync<KafkaConnectionException>(() => getting);
            Assert.True(error.IsRetriable);
            Assert.True(broker.Opened.TryPeek(out var transport));
            Assert.True(transport.IsClosed);
        }
        finally
        {
            await connections.DisposeAsync();
        }

        // Whatever the attempt made, nothing stays open once the client's connections are disposed.
        foreach (var opened in broker.Opened)
        {
            Assert.True(opened.IsClosed);
        }
    }
}
