using System.Buffers;

namespace Messaging.Compression;

/// <summary>A write-only <see cref="Stream"/> that appends to an <see cref="IBufferWriter{T}"/>, for stream-only compressors.</summary>
internal sealed class BufferWriterStream : Stream
{
    private readonly IBufferWriter<byte> _destination;

    /// <summary>Wraps <paramref name="destination"/>.</summary>
    /// <param name="destination">Where written bytes go.</param>
    public BufferWriterStream(IBufferWriter<byte> destination) => _destination = destination;

    /// <summary>The number of bytes written so far.</summary>
    public long BytesWritten { get; private set; }

    /// <inheritdoc/>
    public override bool CanRead => false;

    /// <inheritdoc/>
    public override bool CanSeek => false;

    /// <inheritdoc/>
    public override bool CanWrite => true;

    /// <inheritdoc/>
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc/>
    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <inheritdoc/>
    public override void Flush()
    {
    }

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc/>
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            Span<byte> span = _destination.GetSpan(1);
            int n = Math.Min(span.Length, buffer.Length);
            buffer.Slice(0, n).CopyTo(span);
            _destination.Advance(n);
            buffer = buffer.Slice(n);
            BytesWritten += n;
        }
    }

    /// <inheritdoc/>
    public override void WriteByte(byte value)
    {
        _destination.GetSpan(1)[0] = value;
        _destination.Advance(1);
        BytesWritten++;
    }
}
