using System.Diagnostics;
using Messaging.Connection;
using Messaging.Protocol.Messages;

namespace Messaging.IntegrationTests.Connection;

/// <summary>
/// KIP-219 at the connection: a response carrying <c>throttle_time_ms</c> mutes the connection, and the next request
/// on it — whichever client sends it — waits until the throttle has passed (capped at the request timeout).
/// </summary>
public sealed class ConnectionThrottleTests
{
    private static readonly MetadataRequest AllTopicsNone = new() { Topics = [] };

    [Fact(Timeout = 20_000)]
    public async Task A_metadata_request_after_a_throttled_answer_waits_out_the_throttle()
    {
        const int throttleMs = 600;
        var ct = TestContext.Current.CancellationToken;
        await using var broker = HostileBroker.Start(new HostileBrokerOptions { Behavior = HostileBehavior.WellBehaved, ThrottleTimeMs = throttleMs });
        await using var connection = await Connect(broker, TimeSpan.FromSeconds(10), ct);

        var first = await connection.SendAsync<MetadataRequest, MetadataResponse>(AllTopicsNone, ct);
        var answered = Stopwatch.GetTimestamp();
        Assert.Equal(throttleMs, first.ThrottleTimeMs);
        Assert.True(connection.MutedUntil > answered, "a throttled answer mutes the connection");

        await connection.SendAsync<MetadataRequest, MetadataResponse>(AllTopicsNone, ct);

        var held = Stopwatch.GetElapsedTime(answered);
        Assert.True(held >= TimeSpan.FromMilliseconds(throttleMs - 50), $"the next Metadata was answered {held.TotalMilliseconds:0} ms after a {throttleMs} ms throttle");
        Assert.Equal(3, broker.RequestsReceived); // ApiVersions, then both Metadata requests
    }

    [Fact(Timeout = 20_000)]
    public async Task The_mute_is_capped_at_the_request_timeout()
    {
        var ct = TestContext.Current.CancellationToken;
        var requestTimeout = TimeSpan.FromMilliseconds(400);
        await using var broker = HostileBroker.Start(new HostileBrokerOptions { Behavior = HostileBehavior.WellBehaved, ThrottleTimeMs = 60_000 });
        await using var connection = await Connect(broker, requestTimeout, ct);

        await connection.SendAsync<MetadataRequest, MetadataResponse>(AllTopicsNone, ct);
        var answered = Stopwatch.GetTimestamp();
        var mute = TimeSpan.FromSeconds((double)(connection.MutedUntil - answered) / Stopwatch.Frequency);
        Assert.InRange(mute, TimeSpan.Zero, requestTimeout);

        // The next request goes out once the capped mute has passed, and is answered within its own timeout.
        var second = await connection.SendAsync<MetadataRequest, MetadataResponse>(AllTopicsNone, ct);
        Assert.Equal(60_000, second.ThrottleTimeMs);
    }

    [Fact(Timeout = 20_000)]
    public async Task Waiting_out_a_mute_ends_at_once_on_cancellation_or_disposal()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = HostileBroker.Start(new HostileBrokerOptions { Behavior = HostileBehavior.WellBehaved, ThrottleTimeMs = 15_000 });
        var connection = await Connect(broker, TimeSpan.FromSeconds(30), ct);
        await connection.SendAsync<MetadataRequest, MetadataResponse>(AllTopicsNone, ct);

        using (var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            var cancelled = connection.SendAsync<MetadataRequest, MetadataResponse>(AllTopicsNone, cancel.Token).AsTask();
            Assert.False(cancelled.IsCompleted, "a muted connection holds the request back");
            var started = Stopwatch.GetTimestamp();
            await cancel.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
            Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(5), "cancellation ends the wait");
        }

        var held = connection.SendAsync<MetadataRequest, MetadataResponse>(AllTopicsNone, ct).AsTask();
        var disposing = Stopwatch.GetTimestamp();
        await connection.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => held);
        Assert.True(Stopwatch.GetElapsedTime(disposing) < TimeSpan.FromSeconds(5), "disposal ends the wait");
        Assert.Equal(2, broker.RequestsReceived); // ApiVersions and the first Metadata: nothing went out while muted
    }

    private static Task<BrokerConnection> Connect(HostileBroker broker, TimeSpan requestTimeout, CancellationToken ct) =>
        BrokerConnection.ConnectAsync(broker.Endpoint, new ConnectionSettings(new KafkaClientOptions
        {
            BootstrapServers = broker.BootstrapServers,
            RequestTimeout = requestTimeout,
        }), ct);
}
