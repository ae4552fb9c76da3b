using Messaging.Connection;
using Messaging.IntegrationTests.EmbeddedBroker;
using Messaging.Protocol.Messages;
using Messaging.Testing;
using Messaging.IntegrationTests.Support;

namespace Messaging.IntegrationTests.Connection;

/// <summary>Every pooled buffer comes back, also when a connection is disposed with requests in flight. Runs alone: the counters are process-wide.</summary>
[Collection(nameof(LeakCheckCollection))]
public sealed class BufferReturnTests
{
    [Fact(Timeout = 60_000)]
    public async Task Disposing_with_a_thousand_requests_in_flight_returns_every_request_buffer_and_response_frame()
    {
        var ct = TestContext.Current.CancellationToken;
        using var cluster = EmbeddedKafkaCluster.Start(1);
        cluster.SetBrokerRoundTripDelay(1, TimeSpan.FromMilliseconds(100));
        var requestBuffersBefore = RequestBuffers.Outstanding;
        var framesBefore = ResponseFrame.Outstanding;

        var connection = await BrokerConnection.ConnectAsync(
            BrokerConnectionTests.First(cluster.BootstrapServers),
            BrokerConnectionTests.Settings(cluster.BootstrapServers, o => o.MaxInFlightRequestsPerConnection = 64), ct);
        var calls = new Task[1000];
        for (var i = 0; i < calls.Length; i++)
        {
            calls[i] = i % 2 == 0
                ? connection.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [] }, ct).AsTask()
                : RawAsync(connection, ct);
        }

        // Some answered, the rest in flight or waiting for a slot when the connection goes.
        await Eventually.TrueAsync(() => Array.Exists(calls, c => c.IsCompleted), TimeSpan.FromSeconds(10), "no request was answered", ct);
        await connection.DisposeAsync();
        await Task.WhenAll(calls).ContinueWith(static _ => { }, ct, TaskContinuationOptions.None, TaskScheduler.Default);
        Assert.All(calls, c => Assert.True(c.IsCompleted));

        Assert.Equal(requestBuffersBefore, RequestBuffers.Outstanding);
        Assert.Equal(framesBefore, ResponseFrame.Outstanding);
    }

    private static async Task RawAsync(BrokerConnection connection, CancellationToken ct)
    {
        using var frame = await connection.SendAsync(new MetadataRequest { Topics = [] }, connection.ApiVersions.VersionFor(ApiKey.Metadata), TimeSpan.FromSeconds(30), ct);
    }
}
