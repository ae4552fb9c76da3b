using System.Buffers.Binary;
using Messaging.Connection;
using Messaging.Protocol.Messages;
using Messaging.Transport;
using Microsoft.Extensions.Time.Testing;

namespace Messaging.Core.Tests.Connection;

/// <summary>
/// A request that gets no response (a Produce with acks=0) is never queued, so nothing pending says the connection is
/// in use while it is written. The idle sweep must not close the connection under that write: the records would be
/// cut off mid-frame or dropped with the socket, with nothing to tell the producer they never arrived.
/// </summary>
public sealed class UnansweredWriteIdleTests
{
    private static readonly BrokerEndpoint Broker = new("broker1.test", 9092, NodeId: 1);

    [Fact(Timeout = 10_000)]
    public async Task The_idle_sweep_does_not_close_a_connection_while_a_request_without_response_is_written()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider();
        var broker = new InMemoryBroker { Hold = static key => key == ApiKey.Metadata };
        var gated = new GatedFactory(broker);
        var settings = new ConnectionSettings(new KafkaClientOptions
        {
            BootstrapServers = "broker1.test:9092",
            TransportFactory = gated,
            TimeProvider = time,
            RequestTimeout = TimeSpan.FromHours(1),
            ConnectionsMaxIdle = TimeSpan.FromMinutes(1),
        });
        await using var connections = new BrokerConnections(settings, [Broker]);
        connections.UpdateBrokers([Broker]);
        var connection = await connections.GetAsync(1, ct);

        // The write starts and takes its time (a full socket buffer) while the clock passes connections.max.idle.ms.
        gated.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sending = connection.SendWithoutResponseAsync(new MetadataRequest { Topics = [] }, 12, cancellationToken: ct).AsTask();
        await gated.WriteStarted.Task.WaitAsync(ct);
        time.Advance(TimeSpan.FromMinutes(2));
        Assert.True(connection.IsOpen, "the idle sweep closed the connection while a request was being written: " + connection.Failure?.Message);

        gated.Gate.SetResult();
        await sending.WaitAsync(ct);
        Assert.Single(Assert.Single(broker.Opened).Held);
        Assert.True(connection.IsOpen, "the connection closed once the request was written: " + connection.Failure?.Message);
    }

    /// <summary>Opens the in-memory broker's transports; while <see cref="Gate"/> is set, a Metadata write waits for it.</summary>
    private sealed class GatedFactory(InMemoryBroker broker) : IKafkaTransportFactory
    {
        public TaskCompletionSource? Gate { get; set; }

        public TaskCompletionSource WriteStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async ValueTask<IKafkaTransport> ConnectAsync(KafkaTransportContext context, CancellationToken cancellationToken) =>
            new GatedTransport(this, await broker.ConnectAsync(context, cancellationToken));

        private sealed class GatedTransport(GatedFactory factory, IKafkaTransport inner) : IKafkaTransport
        {
            public ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) => inner.ReceiveAsync(buffer, cancellationToken);

            public async ValueTask SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
            {
                if (factory.Gate is { } gate && (ApiKey)BinaryPrimitives.ReadInt16BigEndian(bytes.Span[4..]) == ApiKey.Metadata)
                {
                    factory.WriteStarted.TrySetResult();
                    await gate.Task.WaitAsync(cancellationToken);
                }

                await inner.SendAsync(bytes, cancellationToken);
            }

            public void Close() => inner.Close();

            public ValueTask DisposeAsync() => inner.DisposeAsync();
        }
    }
}
