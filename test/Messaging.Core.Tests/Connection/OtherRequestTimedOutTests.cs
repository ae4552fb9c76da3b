using Messaging.Connection;
using Messaging.Protocol.Messages;
using Microsoft.Extensions.Time.Testing;

namespace Messaging.Core.Tests.Connection;

/// <summary>
/// When one request times out the connection closes, and every other request on it fails: their error must say which
/// request timed out, that this one may still have reached the broker, and what to do about it.
/// </summary>
public sealed class OtherRequestTimedOutTests
{
    private static readonly BrokerEndpoint Broker = new("broker1.test", 9092, NodeId: 1);

    [Fact(Timeout = 10_000)]
    public async Task A_request_failed_because_another_timed_out_says_which_one_and_what_to_do()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider();
        var broker = new InMemoryBroker { Hold = static key => key is ApiKey.Metadata or ApiKey.ListOffsets };
        var settings = new ConnectionSettings(new KafkaClientOptions
        {
            BootstrapServers = "broker1.test:9092",
            TransportFactory = broker,
            TimeProvider = time,
            RequestTimeout = TimeSpan.FromSeconds(10),
        });
        await using var connection = await BrokerConnection.ConnectAsync(Broker, settings, ct);

        // A request with a long timeout of its own (as a Fetch's), then a Metadata request with the request timeout.
        var offsets = connection.SendAsync(new ListOffsetsRequest { ReplicaId = -1, Topics = [] }, 6, TimeSpan.FromMinutes(1), ct).AsTask();
        var metadata = connection.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [] }, ct).AsTask();
        time.Advance(TimeSpan.FromSeconds(11));

        await Assert.ThrowsAsync<KafkaTimeoutException>(() => metadata.WaitAsync(TimeSpan.FromSeconds(5), ct));
        var error = await Assert.ThrowsAsync<KafkaConnectionException>(() => offsets.WaitAsync(TimeSpan.FromSeconds(5), ct));
        Assert.True(error.IsRetriable);
        Assert.Contains("Metadata v", error.Message, StringComparison.Ordinal); // which request timed out
        Assert.DoesNotContain("earlier", error.Message, StringComparison.Ordinal); // it was sent after this one
        Assert.Contains("may have", error.Message, StringComparison.Ordinal); // this one may have reached the broker
        Assert.Contains("RequestTimeout (request.timeout.ms)", error.Message, StringComparison.Ordinal); // what to do
    }
}
