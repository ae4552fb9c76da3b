using Messaging.Connection;
using Messaging.Diagnostics;
using Messaging.Protocol.Messages;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Messaging.Core.Tests.Connection;

/// <summary>
/// Handling a response can fail for a reason other than a malformed body — here a log that throws while the connection
/// reports the broker's throttle, set past the guard the application's logger gets (<see cref="GuardedLogger"/>) to
/// stand in for any unexpected failure. The caller must still get a typed error (not wait for ever), and the
/// connection must close consistently: its <see cref="BrokerConnection.Closed"/> completes even when logging the
/// close throws too. An application's logger that throws changes nothing: a failed connect still fails retriably.
/// </summary>
public sealed class ThrowingLogTests
{
    private static readonly BrokerEndpoint Broker = new("broker1.test", 9092, NodeId: 1);

    [Fact(Timeout = 10_000)]
    public async Task A_response_whose_handling_throws_fails_its_caller_with_a_connection_error_and_closes_the_connection()
    {
        var ct = TestContext.Current.CancellationToken;
        var broker = new InMemoryBroker
        {
            OnMetadata = static (_, _) => new MetadataResponse { ThrottleTimeMs = 100, Brokers = [], ControllerId = 1, Topics = [] },
        };
        var settings = new ConnectionSettings(new KafkaClientOptions
        {
            BootstrapServers = "broker1.test:9092",
            TransportFactory = broker,
        })
        {
            Log = new KafkaLog(Throwing()),
        };
        var connection = await BrokerConnection.ConnectAsync(Broker, settings, ct);
        await using var _ = connection;

        // A caller never completed shows as a TimeoutException of the bound, not the expected error.
        var sending = connection.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [] }, ct).AsTask();
        var error = await Assert.ThrowsAsync<KafkaConnectionException>(() => sending.WaitAsync(TimeSpan.FromSeconds(5), ct));
        Assert.IsType<InvalidOperationException>(error.InnerException);

        // The connection closed for that reason, and its Closed task completed although logging the close threw as well.
        // The caller is failed first and may run before the close has begun, so the close is awaited, not sampled.
        await connection.Closed.WaitAsync(TimeSpan.FromSeconds(5), ct);
        Assert.False(connection.IsOpen);
        Assert.Same(error, connection.Failure);
    }

    [Fact(Timeout = 10_000)]
    public async Task A_timeout_whose_close_fails_to_log_still_fails_the_request_and_throws_nothing_on_the_timer()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider();
        var broker = new InMemoryBroker { Hold = static key => key == ApiKey.Metadata };
        var settings = new ConnectionSettings(new KafkaClientOptions
        {
            BootstrapServers = "broker1.test:9092",
            TransportFactory = broker,
            TimeProvider = time,
            RequestTimeout = TimeSpan.FromSeconds(1),
        })
        {
            Log = new KafkaLog(Throwing()),
        };
        var connection = await BrokerConnection.ConnectAsync(Broker, settings, ct);
        await using var _ = connection;
        var sending = connection.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [] }, ct).AsTask();

        // The timeout sweep runs on a timer: an exception escaping it would end the process (here: the fake clock's Advance).
        var escaped = Record.Exception(() => time.Advance(TimeSpan.FromSeconds(2)));
        Assert.Null(escaped);
        await Assert.ThrowsAsync<KafkaTimeoutException>(() => sending.WaitAsync(TimeSpan.FromSeconds(5), ct));
        Assert.False(connection.IsOpen);
    }

    [Fact(Timeout = 10_000)]
    public async Task An_idle_close_that_fails_to_log_still_closes_and_throws_nothing_on_the_timer()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider();
        var settings = new ConnectionSettings(new KafkaClientOptions
        {
            BootstrapServers = "broker1.test:9092",
            TransportFactory = new InMemoryBroker(),
            TimeProvider = time,
        })
        {
            Log = new KafkaLog(Throwing()),
        };
        await using var connections = new BrokerConnections(settings, [Broker]);
        connections.UpdateBrokers([Broker]);
        var connection = await connections.GetAsync(1, ct);

        // The idle sweep runs on a timer too.
        var escaped = Record.Exception(() => time.Advance(TimeSpan.FromMinutes(10)));
        Assert.Null(escaped);
        Assert.False(connection.IsOpen);
    }

    [Fact(Timeout = 10_000)]
    public async Task A_connect_whose_success_fails_to_log_leaves_no_connection_open()
    {
        var ct = TestContext.Current.CancellationToken;
        var broker = new InMemoryBroker();
        var settings = new ConnectionSettings(new KafkaClientOptions
        {
            BootstrapServers = "broker1.test:9092",
            TransportFactory = broker,
        })
        {
            Log = new KafkaLog(Throwing(onConnect: true)),
        };

        // The caller gets an error and no connection: whatever it made (transport, read loop, timers) is released.
        await Assert.ThrowsAnyAsync<Exception>(async () => await BrokerConnection.ConnectAsync(Broker, settings, ct));
        var transport = Assert.Single(broker.Opened);
        Assert.True(transport.IsClosed, "the connection whose connect failed was left open");
    }

    [Fact(Timeout = 10_000)]
    public async Task A_failed_connect_whose_log_throws_still_fails_with_the_retriable_connection_error()
    {
        var ct = TestContext.Current.CancellationToken;
        var broker = new InMemoryBroker();
        broker.Down[Broker.Host] = true;
        var log = new ThrowingLog(static message => message.StartsWith("Could not connect", StringComparison.Ordinal));
        var settings = new ConnectionSettings(new KafkaClientOptions { BootstrapServers = "broker1.test:9092", TransportFactory = broker, LoggerFactory = log });
        await using var connections = new BrokerConnections(settings, [Broker]);
        connections.UpdateBrokers([Broker]);

        var error = await Assert.ThrowsAnyAsync<Exception>(async () => await connections.GetAsync(1, ct));
        Assert.Equal(1, log.Thrown);
        Assert.True(error is KafkaConnectionException { IsRetriable: true }, "the connect failed with " + error.GetType().Name + ": " + error.Message);
    }

    /// <summary>A log that throws on the throttle and disconnect messages (and on the connect message when <paramref name="onConnect"/>).</summary>
    private static ThrowingLog Throwing(bool onConnect = false) => new(message =>
        message.Contains("throttled", StringComparison.Ordinal) || message.StartsWith("Disconnected", StringComparison.Ordinal)
        || (onConnect && message.StartsWith("Connected", StringComparison.Ordinal)));
}
