using Messaging.Connection;
using Messaging.Protocol.Messages;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Messaging.Core.Tests.Connection;

/// <summary>
/// Closing a connection for idleness races a sender that just got it: the close must not fail a request the broker
/// already received (its retry could write the same records twice). Either the request went out first and the
/// connection is no longer idle, or it finds the connection closed before a byte of it is written.
/// </summary>
public sealed class IdleCloseRaceTests
{
    private static readonly BrokerEndpoint Broker = new("broker1.test", 9092, NodeId: 1);

    [Fact(Timeout = 10_000)]
    public async Task A_request_sent_while_the_idle_sweep_decides_is_not_failed_after_the_broker_received_it()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider();
        var log = new PausingLog();
        var broker = new InMemoryBroker { Hold = static key => key == ApiKey.Metadata };
        var settings = new ConnectionSettings(new KafkaClientOptions
        {
            BootstrapServers = "broker1.test:9092",
            TransportFactory = broker,
            TimeProvider = time,
            LoggerFactory = log,
        });
        await using var connections = new BrokerConnections(settings, [Broker]);
        connections.UpdateBrokers([Broker]);
        var connection = await connections.GetAsync(1, ct);

        // The idle sweep runs as the clock passes connections.max.idle.ms; the log of its decision pauses it, so a
        // request is sent exactly while it decides.
        var advancing = Task.Run(() => time.Advance(TimeSpan.FromMinutes(10)), ct);
        await log.IdleLogged.Task.WaitAsync(ct);
        var sending = connection.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [] }, ct).AsTask();
        log.Proceed.SetResult();
        await advancing.WaitAsync(ct);

        var transport = Assert.Single(broker.Opened);
        if (transport.Held.IsEmpty)
        {
            // Not written: it must have failed as a closed connection's request, before it went out.
            await Assert.ThrowsAsync<KafkaConnectionException>(() => sending);
            Assert.False(connection.IsOpen);
        }
        else
        {
            // Written: the connection was busy, not idle, and stays open for the answer.
            Assert.True(connection.IsOpen, "the idle close failed a request the broker had received: " + connection.Failure?.Message);
            transport.AnswerHeld();
            Assert.Equal(1, (await sending).ControllerId);
        }
    }

    /// <summary>A log whose idle-close message waits for the test.</summary>
    private sealed class PausingLog : ILoggerFactory, ILogger
    {
        public TaskCompletionSource IdleLogged { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Proceed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

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
            if (formatter(state, exception).Contains("idle for", StringComparison.Ordinal) && IdleLogged.TrySetResult())
            {
                Proceed.Task.Wait(TimeSpan.FromSeconds(5));
            }
        }
    }
}
