namespace Messaging.Transport;

/// <summary>
/// A connected, ordered, reliable duplex byte stream to one broker: what a connection reads Kafka frames from and
/// writes them to. The default is a plain TCP socket (<see cref="SocketTransportFactory"/>); a TLS transport wraps
/// another transport, and a test transport can wrap the default to observe or disturb the bytes.
/// </summary>
/// <remarks>
/// <para>Concurrency: a connection calls <see cref="ReceiveAsync"/> from one read loop and <see cref="SendAsync"/>
/// from one writer at a time, and the two may run at the same time (full duplex). <see cref="Close"/> may be called
/// from any thread, at any time, also while a receive or send is pending.</para>
/// <para>Errors: a transport reports a broken stream by throwing (<see cref="IOException"/>,
/// <see cref="System.Net.Sockets.SocketException"/> or <see cref="ObjectDisposedException"/> after
/// <see cref="Close"/>); the connection closes and fails its pending requests with a retriable
/// <see cref="KafkaConnectionException"/> whatever the exception is.</para>
/// <para>Buffers: the memory passed to either method is the caller's and is only borrowed for the duration of the
/// call; a transport must not keep it after the returned task completes.</para>
/// </remarks>
public interface IKafkaTransport : IAsyncDisposable
{
    /// <summary>Reads at least one byte into <paramref name="buffer"/> (fewer than it holds is normal).</summary>
    /// <param name="buffer">Where the bytes go; never empty.</param>
    /// <param name="cancellationToken">Cancels the read (the connection passes none: it ends reads by <see cref="Close"/>).</param>
    /// <returns>How many bytes were read; 0 when the broker closed the stream.</returns>
    ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken);

    /// <summary>Writes every byte of <paramref name="bytes"/>, in order, completing when all of them are handed to the stream.</summary>
    /// <param name="bytes">One or more whole request frames.</param>
    /// <param name="cancellationToken">Cancels the write (the connection passes none: it ends writes by <see cref="Close"/>).</param>
    ValueTask SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken);

    /// <summary>
    /// Closes the stream at once: a pending <see cref="ReceiveAsync"/> or <see cref="SendAsync"/> ends (by throwing or
    /// by reading 0 bytes) and later calls fail. Must not block and must not throw; idempotent. The connection calls it
    /// from timers and from its read loop, then <see cref="IAsyncDisposable.DisposeAsync"/> once the read loop ended.
    /// </summary>
    void Close();
}
