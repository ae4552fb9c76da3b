using System.Net.Sockets;
using Messaging.Connection;
using Messaging.Transport;

namespace Messaging.Core.Tests.Connection;

/// <summary>
/// A plugged-in transport factory or transport that fails is reported like a socket that fails: a retriable
/// <see cref="KafkaConnectionException"/> naming the broker, then the reconnect backoff.
/// </summary>
public sealed class TransportFactoryFailureTests
{
    private static readonly BrokerEndpoint Broker = new("broker.test", 9092, NodeId: 1);

    private static ConnectionSettings Settings(IKafkaTransportFactory factory, Action<KafkaClientOptions>? configure = null)
    {
        var options = new KafkaClientOptions { BootstrapServers = "broker.test:9092", TransportFactory = factory };
        configure?.Invoke(options);
        return new ConnectionSettings(options);
    }

    [Fact]
    public void The_default_transport_is_plain_TCP_and_a_missing_factory_is_rejected_by_name()
    {
        Assert.Same(SocketTransportFactory.Instance, new KafkaClientOptions().TransportFactory);

        var options = new KafkaClientOptions { BootstrapServers = "broker.test:9092", TransportFactory = null! };
        var error = Assert.Throws<ArgumentException>(options.Validate);
        Assert.Equal(nameof(KafkaClientOptions.TransportFactory), error.ParamName);
    }

    // "other": a plugged-in factory may throw anything; like a send that throws anything, it is the broker that cannot be reached.
    public static TheoryData<string> ConnectFailures => ["socket", "io", "other"];

    [Theory(Timeout = 10_000)]
    [MemberData(nameof(ConnectFailures))]
    public async Task A_factory_that_cannot_connect_gives_a_retriable_connection_error_naming_the_broker(string failure)
    {
        Exception cause = failure switch
        {
            "socket" => new SocketException((int)SocketError.ConnectionRefused),
            "io" => new IOException("handshake reset"),
            _ => new InvalidOperationException("the plugged-in transport failed"),
        };
        var factory = new FailingFactory(cause);

        var error = await Assert.ThrowsAsync<KafkaConnectionException>(async () =>
            await BrokerConnection.ConnectAsync(Broker, Settings(factory), TestContext.Current.CancellationToken));

        Assert.True(error.IsRetriable);
        Assert.Same(cause, error.InnerException);
        Assert.Equal(Broker.DisplayName, error.Broker);
        Assert.Equal(1, factory.Attempts);
        Assert.Equal("broker.test", factory.LastContext!.Host);
        Assert.Equal(9092, factory.LastContext.Port);
        Assert.Equal(1, factory.LastContext.NodeId);
        Assert.Equal(Broker.DisplayName, factory.LastContext.BrokerName);
    }

    [Fact(Timeout = 10_000)]
    public async Task The_factory_gets_the_socket_settings_of_the_options()
    {
        var factory = new FailingFactory(new SocketException((int)SocketError.ConnectionRefused));
        var settings = Settings(factory, o =>
        {
            o.SocketSendBufferBytes = 256 * 1024;
            o.SocketReceiveBufferBytes = 512 * 1024;
        });

        await Assert.ThrowsAsync<KafkaConnectionException>(async () => await BrokerConnection.ConnectAsync(Broker, settings, TestContext.Current.CancellationToken));

        Assert.Equal(256 * 1024, factory.LastContext!.SocketSendBufferBytes);
        Assert.Equal(512 * 1024, factory.LastContext.SocketReceiveBufferBytes);
    }

    [Fact(Timeout = 10_000)]
    public async Task A_factory_that_outlives_the_setup_timeout_is_cancelled_and_reported_as_a_timeout()
    {
        var factory = new FailingFactory(cause: null); // waits for its token
        var settings = Settings(factory, o => o.SocketConnectionSetupTimeout = TimeSpan.FromMilliseconds(100));

        var error = await Assert.ThrowsAsync<KafkaConnectionException>(async () =>
            await BrokerConnection.ConnectAsync(Broker, settings, TestContext.Current.CancellationToken));

        Assert.True(error.IsRetriable);
        Assert.IsType<TimeoutException>(error.InnerException);
        Assert.True(factory.SawCancellation);
    }

    [Fact(Timeout = 10_000)]
    public async Task After_a_failed_connect_callers_fail_fast_during_the_backoff_without_reconnecting()
    {
        var factory = new FailingFactory(new SocketException((int)SocketError.ConnectionRefused));
        var settings = Settings(factory, o =>
        {
            o.ReconnectBackoff = TimeSpan.FromMinutes(10);
            o.ReconnectBackoffMax = TimeSpan.FromMinutes(10);
        });
        await using var connections = new BrokerConnections(settings, [Broker]);
        connections.UpdateBrokers([Broker]);
        var ct = TestContext.Current.CancellationToken;

        var first = await Assert.ThrowsAsync<KafkaConnectionException>(async () => await connections.GetAsync(1, ct));
        Assert.True(first.IsRetriable);
        Assert.IsType<SocketException>(first.InnerException);

        var during = await Assert.ThrowsAsync<KafkaConnectionException>(async () => await connections.GetAsync(1, ct));
        Assert.True(during.IsRetriable);
        Assert.Contains("next connection attempt", during.Message, StringComparison.Ordinal);
        Assert.Equal(1, factory.Attempts); // the backoff held the second caller back
    }

    [Fact(Timeout = 10_000)]
    public async Task After_the_backoff_passed_the_factory_is_asked_again()
    {
        var factory = new FailingFactory(new SocketException((int)SocketError.ConnectionRefused));
        var settings = Settings(factory, o =>
        {
            o.ReconnectBackoff = TimeSpan.FromMilliseconds(20);
            o.ReconnectBackoffMax = TimeSpan.FromMilliseconds(40);
        });
        await using var connections = new BrokerConnections(settings, [Broker]);
        connections.UpdateBrokers([Broker]);
        var ct = TestContext.Current.CancellationToken;

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (factory.Attempts < 2 && DateTime.UtcNow < deadline)
        {
            await Assert.ThrowsAsync<KafkaConnectionException>(async () => await connections.GetAsync(1, ct));
            await Task.Yield();
        }

        Assert.Equal(2, factory.Attempts);
    }

    [Fact(Timeout = 10_000)]
    public async Task A_transport_whose_send_throws_anything_fails_the_connection_at_once_with_a_retriable_error()
    {
        // A long setup timeout: the failure must come from the send, not from waiting out the handshake.
        var settings = Settings(new BrokenSendFactory(), o => o.SocketConnectionSetupTimeout = TimeSpan.FromSeconds(60));

        var error = await Assert.ThrowsAsync<KafkaConnectionException>(async () =>
            await BrokerConnection.ConnectAsync(Broker, settings, TestContext.Current.CancellationToken));

        Assert.True(error.IsRetriable);
        Assert.IsType<InvalidOperationException>(Innermost(error));
    }

    [Fact(Timeout = 10_000)]
    public async Task A_factory_that_throws_anything_for_one_bootstrap_server_does_not_stop_the_rotation_to_the_next()
    {
        var broker = new InMemoryBroker();
        var factory = new FirstAttemptFails(broker, new InvalidOperationException("the plugged-in transport failed"));
        await using var connections = new BrokerConnections(Settings(factory), [new BrokerEndpoint("one.test", 9092), new BrokerEndpoint("two.test", 9092)]);

        var connection = await connections.GetAnyAsync(TestContext.Current.CancellationToken);

        Assert.True(connection.IsOpen);
        Assert.Equal(2, factory.Attempts);
    }

    private static Exception Innermost(Exception error)
    {
        while (error.InnerException is not null)
        {
            error = error.InnerException;
        }

        return error;
    }

    /// <summary>Throws <c>cause</c>, or (null) waits until cancelled.</summary>
    private sealed class FailingFactory(Exception? cause) : IKafkaTransportFactory
    {
        private int _attempts;

        public int Attempts => Volatile.Read(ref _attempts);

        public KafkaTransportContext? LastContext { get; private set; }

        public bool SawCancellation { get; private set; }

        public async ValueTask<IKafkaTransport> ConnectAsync(KafkaTransportContext context, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _attempts);
            LastContext = context;
            if (cause is not null)
            {
                throw cause;
            }

            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                SawCancellation = true;
                throw;
            }

            throw new InvalidOperationException("unreachable");
        }
    }

    /// <summary>The first attempt throws <c>cause</c>; the others connect to the in-memory broker.</summary>
    private sealed class FirstAttemptFails(InMemoryBroker broker, Exception cause) : IKafkaTransportFactory
    {
        private int _attempts;

        public int Attempts => Volatile.Read(ref _attempts);

        public ValueTask<IKafkaTransport> ConnectAsync(KafkaTransportContext context, CancellationToken cancellationToken) =>
            Interlocked.Increment(ref _attempts) == 1 ? ValueTask.FromException<IKafkaTransport>(cause) : broker.ConnectAsync(context, cancellationToken);
    }

    /// <summary>Connects; every send throws an exception no socket would; receives wait until closed.</summary>
    private sealed class BrokenSendFactory : IKafkaTransportFactory
    {
        public ValueTask<IKafkaTransport> ConnectAsync(KafkaTransportContext context, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IKafkaTransport>(new BrokenSendTransport());
    }

    private sealed class BrokenSendTransport : IKafkaTransport
    {
        private readonly TaskCompletionSource<int> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) => new(_closed.Task);

        public ValueTask SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken) =>
            ValueTask.FromException(new InvalidOperationException("this transport cannot send"));

        public void Close() => _closed.TrySetResult(0);

        public ValueTask DisposeAsync()
        {
            Close();
            return default;
        }
    }
}
