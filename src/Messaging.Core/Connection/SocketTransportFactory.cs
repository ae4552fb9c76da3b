using System.Net.Sockets;
using Messaging.Connection;

namespace Messaging.Transport;

/// <summary>
/// The default transport: a plain TCP socket with Nagle's algorithm off (<c>TCP_NODELAY</c>, requests are written
/// whole) and the socket buffer sizes from <see cref="KafkaClientOptions"/>. Wrap it to add to it.
/// </summary>
public sealed class SocketTransportFactory : IKafkaTransportFactory
{
    private SocketTransportFactory()
    {
    }

    /// <summary>The one instance; it holds no state.</summary>
    public static SocketTransportFactory Instance { get; } = new();

    /// <inheritdoc/>
    public async ValueTask<IKafkaTransport> ConnectAsync(KafkaTransportContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);

        // Dual mode (IPv4 and IPv6), so host names resolving to either connect.
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.NoDelay = true;
            if (context.SocketSendBufferBytes > 0)
            {
                socket.SendBufferSize = context.SocketSendBufferBytes;
            }

            if (context.SocketReceiveBufferBytes > 0)
            {
                socket.ReceiveBufferSize = context.SocketReceiveBufferBytes;
            }

            await socket.ConnectAsync(context.Host, context.Port, cancellationToken).ConfigureAwait(false);
            return new SocketTransport(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
