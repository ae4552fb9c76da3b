using Messaging.Transport;

namespace Messaging.Security;

/// <summary>
/// The inner transport as the <see cref="Stream"/> an <see cref="System.Net.Security.SslStream"/> wraps: reads are
/// receives, writes are sends, disposal disposes the transport. Only the async paths are used (TLS never blocks a
/// thread here); the synchronous ones exist because <see cref="Stream"/> requires them.
/// </summary>
internal sealed class TransportStream(IKafkaTransport transport) : Stream
{
    private int _disposed;

    public IKafkaTransport Transport => transport;

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        transport.ReceiveAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        transport.ReceiveAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        transport.SendAsync(buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        transport.SendAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("TLS over a Kafka transport is asynchronous only.");

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("TLS over a Kafka transport is asynchronous only.");

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await transport.DisposeAsync().ConfigureAwait(false);
        }

        await base.DisposeAsync().ConfigureAwait(false);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            // Close ends the transport's I/O without blocking; DisposeAsync is the path the connection takes.
            transport.Close();
        }

        base.Dispose(disposing);
    }
}
