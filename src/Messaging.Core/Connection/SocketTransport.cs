using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Messaging.Transport;

namespace Messaging.Connection;

/// <summary>
/// A connected TCP socket as an <see cref="IKafkaTransport"/>: receives go straight to the socket, sends loop until
/// the socket took every byte. Neither allocates.
/// </summary>
internal sealed class SocketTransport(Socket socket) : IKafkaTransport
{
    private int _closed;

    /// <summary>The socket, for tests that check its options.</summary>
    internal Socket Socket => socket;

    public ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) =>
        socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);

    /// <remarks>
    /// Pooled builder: a send the socket completes at once (the usual case) runs synchronously and allocates nothing,
    /// and one that has to wait reuses a pooled state machine box instead of allocating one.
    /// </remarks>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        while (!bytes.IsEmpty)
        {
            var sent = await socket.SendAsync(bytes, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            bytes = bytes[sent..];
        }
    }

    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Already reset by the peer: closing is all that is left.
        }
        catch (ObjectDisposedException)
        {
        }

        socket.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        Close();
        return default;
    }
}
