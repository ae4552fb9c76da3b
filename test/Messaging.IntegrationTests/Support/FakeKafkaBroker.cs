using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Messaging.Protocol;

namespace Messaging.IntegrationTests.Support;

/// <summary>
/// The plumbing of a fake Kafka broker on loopback for tests: a listener on an ephemeral port, one serve loop per
/// connection reading size-prefixed request frames (bounded: 1 MiB), and disposal that stops everything within
/// seconds. Subclasses decide the answers in <see cref="Answer"/>, encoding them with our own message types. Shared
/// with the unit tests (linked into Messaging.Core.Tests).
/// </summary>
internal abstract class FakeKafkaBroker : IAsyncDisposable
{
    /// <summary>Returned by <see cref="Answer"/>: close the connection without answering the request.</summary>
    protected static readonly TimeSpan CloseConnection = TimeSpan.MinValue;

    /// <summary>Returned by <see cref="Answer"/>: never answer the request (the connection stays open and is read on).</summary>
    protected static readonly TimeSpan NeverAnswer = Timeout.InfiniteTimeSpan;

    private const int MaxRequestBytes = 1 << 20;
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private Task _accept = Task.CompletedTask;

    protected FakeKafkaBroker() => _listener.Start();

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public string BootstrapServers => "127.0.0.1:" + Port;

    /// <summary>Cancelled when the broker is disposed.</summary>
    protected CancellationToken Stopping => _stop.Token;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accept.WaitAsync(TimeSpan.FromSeconds(5));
        _stop.Dispose();
    }

    /// <summary>Starts accepting connections; subclasses call it last in their constructor, once their state is ready.</summary>
    protected void StartAccepting() => _accept = AcceptAsync();

    /// <summary>
    /// Writes the response frame for one request frame (header and body, without its size prefix) into
    /// <paramref name="output"/>; returns how long to hold it back, or <see cref="CloseConnection"/> or
    /// <see cref="NeverAnswer"/>.
    /// </summary>
    protected abstract TimeSpan Answer(byte[] frame, ContiguousBufferWriter output);

    private async Task AcceptAsync()
    {
        var connections = new List<Task>();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var socket = await _listener.AcceptSocketAsync(_stop.Token);
                connections.Add(ServeAsync(socket));
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        await Task.WhenAll(connections).WaitAsync(TimeSpan.FromSeconds(5));
    }

    private async Task ServeAsync(Socket socket)
    {
        using var _ = socket;
        using var output = new ContiguousBufferWriter();
        var prefix = new byte[4];
        try
        {
            while (true)
            {
                await ReadExactlyAsync(socket, prefix);
                var size = BinaryPrimitives.ReadInt32BigEndian(prefix);
                if (size is <= 0 or > MaxRequestBytes)
                {
                    return;
                }

                var frame = new byte[size];
                await ReadExactlyAsync(socket, frame);
                output.Clear();
                var delay = Answer(frame, output);
                if (delay == CloseConnection)
                {
                    return; // unanswered
                }

                if (delay == NeverAnswer)
                {
                    continue;
                }

                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, _stop.Token);
                }

                await socket.SendAsync(output.WrittenMemory, SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
        {
        }
    }

    private async Task ReadExactlyAsync(Socket socket, Memory<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
            buffer = read > 0 ? buffer[read..] : throw new IOException("client closed");
        }
    }
}
