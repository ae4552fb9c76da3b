using Messaging.Connection;
using Messaging.Protocol.Messages;
using Microsoft.Extensions.Logging;

namespace Messaging.Core.Tests.Connection;

/// <summary>
/// Handling a response can fail for a reason other than a malformed body — a plugged-in logger that throws while the
/// connection reports the broker's throttle. The caller must still get a typed error (not wait for ever), and the
/// connection must close consistently: its <see cref="BrokerConnection.Closed"/> completes even when logging the
/// close throws too.
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
            LoggerFactory = new ThrowingLog(),
        });
        var connection = await BrokerConnection.ConnectAsync(Broker, settings, ct);
        await using var _ = connection;

        // A caller never completed shows as a TimeoutException of the bound, not the expected error.
        var sending = connection.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [] }, ct).AsTask();
        var error = await Assert.ThrowsAsync<KafkaConnectionException>(() => sending.WaitAsync(TimeSpan.FromSeconds(5), ct));
        Assert.IsType<InvalidOperationException>(error.InnerException);

        // The connection closed for that reason, and its Closed task completed although logging the close threw as well.
        Assert.False(connection.IsOpen);
        await connection.Closed.WaitAsync(TimeSpan.FromSeconds(5), ct);
    }

    /// <summary>A log that throws on the throttle and disconnect messages.</summary>
    private sealed class ThrowingLog : ILoggerFactory, ILogger
    {
        public ILogger CreateLogger(string categoryName) => this;

        public void AddProvider(ILoggerProvider provider)
        {
        }

        public void Dispose()
        {
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var message = formatter(state, exception);
            if (message.Contains("throttled", StringComparison.Ordinal) || message.StartsWith("Disconnected", StringComparison.Ordinal))
            {
                throw new InvalidOperationException("the log sink failed");
            }
        }
    }
}
