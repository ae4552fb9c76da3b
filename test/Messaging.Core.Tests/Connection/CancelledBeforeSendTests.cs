using Messaging.Connection;
using Messaging.Protocol.Messages;

namespace Messaging.Core.Tests.Connection;

/// <summary>
/// A request whose cancellation token has already fired fails with <see cref="OperationCanceledException"/> and is
/// never written: the broker would otherwise apply a request its caller gave up on before it was sent.
/// </summary>
public sealed class CancelledBeforeSendTests
{
    [Fact(Timeout = 10_000)]
    public async Task A_request_cancelled_before_it_is_sent_is_not_written()
    {
        var ct = TestContext.Current.CancellationToken;
        var metadataRequests = 0;
        var broker = new InMemoryBroker
        {
            OnMetadata = (_, n) =>
            {
                metadataRequests = n;
                return new MetadataResponse { Brokers = [], ControllerId = 1, Topics = [] };
            },
        };
        var settings = new ConnectionSettings(new KafkaClientOptions { BootstrapServers = "broker.test:9092", TransportFactory = broker });
        await using var connection = await BrokerConnection.ConnectAsync(new BrokerEndpoint("broker.test", 9092, NodeId: 1), settings, ct);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => connection.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [] }, cancelled.Token).AsTask());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => connection.SendAsync(new MetadataRequest { Topics = [] }, 12, TimeSpan.FromSeconds(30), cancelled.Token).AsTask());

        Assert.True(metadataRequests == 0, metadataRequests + " request(s) the caller had cancelled were written to the broker");
        Assert.True(connection.IsOpen);
        Assert.Equal(0, connection.PendingCount);
    }
}
