using Messaging.Transport;

namespace Messaging.IntegrationTests.Connection;

/// <summary>
/// A transport factory for tests: opens the default (plain socket) transport and wraps it, counting the bytes each
/// way and the transports opened and disposed. What a TLS factory will do, with counting in place of encryption.
/// </summary>
internal sealed class CountingTransportFactory : IKafkaTransportFactory
{
    private readonly IKafkaTransportFactory _inner;
    private long _bytesSent;
    private long _bytesReceived;
    private int _opened;
    private int _disposed;

    public CountingTransportFactory(IKafkaTransportFactory? inner = null) => _inner = inner ?? SocketTransportFactory.Instance;

    /// <summary>Bytes handed to a transport's send (a send either delivers all of them or fails the connection).</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    /// <summary>Bytes a transport's receive returned.</summary>
    public long BytesReceived => Interlocked.Read(ref _bytesReceived);

    public int Opened => Volatile.Read(ref _opened);

    public int Disposed => Volatile.Read(ref _disposed);

    public async ValueTask<IKafkaTransport> ConnectAsync(KafkaTransportContext context, CancellationToken cancellationToken)
    {
        var inner = await _inner.ConnectAsync(context, cancellationToken);
        Interlocked.Increment(ref _opened);
        return new CountingTransport(this, inner);
    }

    private sealed class CountingTransport(CountingTransportFactory owner, IKafkaTransport inner) : IKafkaTransport
    {
        private int _disposed;

        public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
        {
            var read = await inner.ReceiveAsync(buffer, cancellationToken);
            Interlocked.Add(ref owner._bytesReceived, read);
            return read;
        }

        public ValueTask SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
        {
            // Counted before the send: the response can be read before this call's continuation runs.
            Interlocked.Add(ref owner._bytesSent, bytes.Length);
            return inner.SendAsync(bytes, cancellationToken);
        }

        public void Close() => inner.Close();

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Interlocked.Increment(ref owner._disposed);
            }

            return inner.DisposeAsync();
        }
    }
}
