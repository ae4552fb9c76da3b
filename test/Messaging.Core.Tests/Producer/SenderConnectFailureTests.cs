using Messaging.Core.Tests.Connection;
using Messaging.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Messaging.Core.Tests.Producer;

/// <summary>A broker's sender outlives whatever its connection attempts throw.</summary>
public sealed class SenderConnectFailureTests
{
    [Fact(Timeout = 30_000)]
    public async Task A_connection_attempt_that_throws_an_unexpected_exception_is_retried_and_the_record_delivered()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker();
        var factory = new ThrowsOnceForLeader();
        await using var producer = new KafkaProducer(Options(broker, factory));

        var delivered = await producer.ProduceAsync(ScriptedProduceBroker.Topic, "k"u8.ToArray(), "v"u8.ToArray(), cancellationToken: ct);

        Assert.Equal(0, delivered.Offset);
        Assert.Equal(1, Volatile.Read(ref factory.Thrown));
    }

    [Fact(Timeout = 30_000)]
    public async Task A_logger_that_throws_while_a_failed_connection_attempt_is_logged_does_not_stop_the_sender()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker();
        var factory = new ThrowsOnceForLeader();
        var log = new ThrowingLog(static message => message.StartsWith("Sender for broker", StringComparison.Ordinal));
        await using var producer = new KafkaProducer(Options(broker, factory, log));

        var delivered = await producer.ProduceAsync(ScriptedProduceBroker.Topic, "k"u8.ToArray(), "v"u8.ToArray(), cancellationToken: ct);

        Assert.Equal(0, delivered.Offset);
        Assert.True(log.Thrown > 0, "the failed connection attempt was not logged");
    }

    /// <summary>A producer of <paramref name="broker"/> connecting through <paramref name="factory"/>, retrying connects fast.</summary>
    private static KafkaProducerOptions Options(ScriptedProduceBroker broker, IKafkaTransportFactory factory, ILoggerFactory? log = null) => new()
    {
        BootstrapServers = broker.BootstrapServers,
        TransportFactory = factory,
        LoggerFactory = log ?? NullLoggerFactory.Instance,
        DeliveryTimeout = TimeSpan.FromSeconds(5),
        RequestTimeout = TimeSpan.FromSeconds(2),
        Linger = TimeSpan.Zero,
        ReconnectBackoff = TimeSpan.FromMilliseconds(20),
    };

    /// <summary>Opens sockets, except that the first connection to the partition's leader (node 1) fails with an exception no socket throws.</summary>
    private sealed class ThrowsOnceForLeader : IKafkaTransportFactory
    {
        public int Thrown;

        public ValueTask<IKafkaTransport> ConnectAsync(KafkaTransportContext context, CancellationToken cancellationToken) =>
            context.NodeId == 1 && Interlocked.CompareExchange(ref Thrown, 1, 0) == 0
                ? ValueTask.FromException<IKafkaTransport>(new InvalidOperationException("the transport plug-in failed"))
                : SocketTransportFactory.Instance.ConnectAsync(context, cancellationToken);
    }
}
