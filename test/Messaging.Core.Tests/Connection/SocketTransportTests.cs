using System.Net;
using System.Net.Sockets;
using Messaging.Connection;
using Messaging.Core.Tests.Support;
using Messaging.Transport;

namespace Messaging.Core.Tests.Connection;

/// <summary>The default transport over a loopback socket: its options, its allocations, and how it closes.</summary>
public sealed class SocketTransportTests : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);

    public SocketTransportTests() => _listener.Start();

    private int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public void Dispose() => _listener.Dispose();

    [Fact(Timeout = 10_000)]
    public async Task The_default_factory_connects_with_no_delay_and_the_configured_buffer_sizes()
    {
        var ct = TestContext.Current.CancellationToken;
        var context = new KafkaTransportContext("127.0.0.1", Port) { SocketSendBufferBytes = 300_000, SocketReceiveBufferBytes = 400_000 };
        await using var transport = await SocketTransportFactory.Instance.ConnectAsync(context, ct);
        using var peer = await _listener.AcceptSocketAsync(ct);

        var socket = Assert.IsType<SocketTransport>(transport).Socket;
        Assert.True(socket.NoDelay);
        Assert.InRange(socket.SendBufferSize, 300_000, int.MaxValue); // Linux reports twice what was asked
        Assert.InRange(socket.ReceiveBufferSize, 400_000, int.MaxValue);
    }

    [Fact(Timeout = 10_000)]
    public async Task A_refused_connect_throws_a_SocketException_and_leaves_nothing_open()
    {
        var ct = TestContext.Current.CancellationToken;
        var port = Port;
        _listener.Stop(); // nothing listens there any more

        await Assert.ThrowsAsync<SocketException>(async () => await SocketTransportFactory.Instance.ConnectAsync(new KafkaTransportContext("127.0.0.1", port), ct));
    }

    [Fact(Timeout = 10_000)]
    public async Task Sends_and_receives_that_complete_at_once_allocate_nothing()
    {
        var ct = TestContext.Current.CancellationToken;
        var client = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(IPAddress.Loopback, Port, ct);
        using var peer = await _listener.AcceptSocketAsync(ct);
        await using var transport = new SocketTransport(client);
        var outgoing = new byte[100];
        var incoming = new byte[100];
        var scratch = new byte[100];

        var sendFailures = 0;
        var sendBytes = Allocations.SteadyState(() =>
        {
            var send = transport.SendAsync(outgoing, CancellationToken.None);
            sendFailures += send.IsCompletedSuccessfully ? 0 : 1;
            ReceiveExactly(peer, scratch);
        }, 200);

        var receiveFailures = 0;
        var receiveBytes = Allocations.SteadyState(() =>
        {
            peer.Send(scratch);
            while (client.Available < scratch.Length)
            {
                Thread.SpinWait(10);
            }

            var receive = transport.ReceiveAsync(incoming, CancellationToken.None);
            receiveFailures += receive.IsCompletedSuccessfully && receive.Result == incoming.Length ? 0 : 1;
        }, 200);

        Assert.Equal(0, sendFailures);
        Assert.Equal(0, receiveFailures);
        Assert.Equal(0, sendBytes);
        Assert.Equal(0, receiveBytes);
    }

    [Fact(Timeout = 10_000)]
    public async Task Close_ends_a_pending_receive_and_is_idempotent()
    {
        var ct = TestContext.Current.CancellationToken;
        var transport = await SocketTransportFactory.Instance.ConnectAsync(new KafkaTransportContext("127.0.0.1", Port), ct);
        using var peer = await _listener.AcceptSocketAsync(ct);

        var pending = transport.ReceiveAsync(new byte[16], CancellationToken.None).AsTask();
        Assert.False(pending.IsCompleted); // the peer sent nothing
        transport.Close();
        transport.Close();

        var ended = await Record.ExceptionAsync(async () => Assert.Equal(0, await pending.WaitAsync(TimeSpan.FromSeconds(5), ct)));
        Assert.True(ended is null or SocketException or ObjectDisposedException, "a closed transport's receive ends with 0 bytes or a socket error, got " + ended);
        await transport.DisposeAsync();
    }

    private static void ReceiveExactly(Socket socket, byte[] buffer)
    {
        var filled = 0;
        while (filled < buffer.Length)
        {
            filled += socket.Receive(buffer, filled, buffer.Length - filled, SocketFlags.None);
        }
    }
}
