using System.Net.Security;
using Messaging.Transport;

namespace Messaging.Security;

/// <summary>
/// A transport over an authenticated <see cref="SslStream"/>: the connection's loops read and write plaintext, the
/// stream encrypts onto the inner transport. One read and one write may run at once, which <see cref="SslStream"/>
/// allows.
/// </summary>
internal sealed class TlsTransport(SslStream tls, IKafkaTransport inner) : IKafkaTransport
{
    private int _disposed;

    public ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken) => tls.ReadAsync(buffer, cancellationToken);

    public ValueTask SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken) => tls.WriteAsync(bytes, cancellationToken);

    /// <summary>Closes the inner transport, which ends any read or write pending on the TLS stream; never blocks.</summary>
    public void Close() => inner.Close();

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        inner.Close();

        // Disposing the TLS stream disposes the adapter, which disposes the inner transport.
        await tls.DisposeAsync().ConfigureAwait(false);
    }
}
