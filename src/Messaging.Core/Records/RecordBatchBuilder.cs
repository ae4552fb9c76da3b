using System.Buffers;
using System.Buffers.Binary;
using Messaging.Compression;
using Messaging.Protocol;

namespace Messaging.Records;

/// <summary>
/// Builds one record batch (magic 2): appends records into a pooled buffer, then <see cref="Build"/> compresses the
/// records section with the chosen codec and fills the header, including the CRC-32C over attributes..end.
/// Reusable: <see cref="Reset"/> starts the next batch in the same buffers, so steady-state building allocates nothing
/// (gzip aside, whose streams allocate per batch).
/// </summary>
/// <remarks>
/// <para>Header fields are properties set before <see cref="Build"/>; their defaults are those of a non-idempotent
/// producer: base offset 0, partition leader epoch -1, producer ID -1, producer epoch -1, base sequence -1, create
/// time, not transactional, not control. <see cref="Reset"/> keeps them (they are per producer, not per batch) and
/// clears the records.</para>
/// <para>Offset deltas are 0, 1, 2, … in append order; the base timestamp is the first record's timestamp and the max
/// timestamp the largest appended.</para>
/// <para>Ownership: the builder owns its buffers and returns them to <see cref="ArrayPool{T}.Shared"/> on
/// <see cref="Dispose"/>. The memory returned by <see cref="Build"/> is valid until the next <see cref="Reset"/>,
/// <see cref="Append"/> or <see cref="Dispose"/>. Not thread-safe.</para>
/// </remarks>
internal sealed class RecordBatchBuilder : IDisposable
{
    private byte[] _buffer;
    private int _length;
    private int _count;
    private long _baseTimestamp;
    private long _maxTimestamp;
    private ContiguousBufferWriter? _compressed;
    private ReadOnlyMemory<byte> _built;
    private bool _isBuilt;
    private bool _disposed;

    /// <summary>Creates a builder.</summary>
    /// <param name="initialCapacity">The initial buffer size in bytes (Kafka's default <c>batch.size</c> is 16 KiB).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="initialCapacity"/> is negative.</exception>
    public RecordBatchBuilder(int initialCapacity = 16 * 1024)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(initialCapacity);
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(initialCapacity, 256));
        _length = RecordBatchLayout.HeaderSize;
    }

    /// <summary>The codec for the records section. Default <see cref="CompressionType.None"/>.</summary>
    public CompressionType Compression { get; set; }

    /// <summary>The compression level, or null for the codec's default (gzip -1, lz4 1, zstd 3). Values outside the
    /// codec's range are clamped; snappy ignores it.</summary>
    public int? CompressionLevel { get; set; }

    /// <summary>The batch's base offset. Default 0 (producers send 0; the broker assigns offsets).</summary>
    public long BaseOffset { get; set; }

    /// <summary>The partition leader epoch. Default -1 (producers send -1; the broker stamps it).</summary>
    public int PartitionLeaderEpoch { get; set; } = -1;

    /// <summary>The producer ID. Default -1 (not idempotent).</summary>
    public long ProducerId { get; set; } = -1;

    /// <summary>The producer epoch. Default -1.</summary>
    public short ProducerEpoch { get; set; } = -1;

    /// <summary>The sequence number of the first record. Default -1.</summary>
    public int BaseSequence { get; set; } = -1;

    /// <summary>Whether the batch belongs to a transaction (attribute bit 4).</summary>
    public bool IsTransactional { get; set; }

    /// <summary>Whether this is a control batch (attribute bit 5); set by <see cref="AppendControlRecord"/>.</summary>
    public bool IsControl { get; set; }

    /// <summary>The timestamp type (attribute bit 3). Default <see cref="TimestampType.CreateTime"/>; brokers
    /// set <see cref="TimestampType.LogAppendTime"/>.</summary>
    public TimestampType TimestampType { get; set; } = TimestampType.CreateTime;

    /// <summary>The number of records appended since the last <see cref="Reset"/>.</summary>
    public int Count => _count;

    /// <summary>The size of the batch if it were built uncompressed now: the 61-byte header plus the records.</summary>
    public int UncompressedSize => _length;

    /// <summary>An upper bound of the bytes one record adds to a batch, for "does it still fit" checks.</summary>
    /// <param name="keyLength">The key length (-1 or 0 for a null key).</param>
    /// <param name="valueLength">The value length (-1 or 0 for a null value).</param>
    /// <param name="headers">The headers.</param>
    /// <returns>The bound in bytes.</returns>
    public static int EstimateRecordSize(int keyLength, int valueLength, ReadOnlySpan<RecordHeader> headers = default) =>
        (int)Math.Min(RecordEncoder.MaxRecordSize(keyLength, valueLength, headers), int.MaxValue);

    /// <summary>Appends a record.</summary>
    /// <param name="timestamp">The timestamp in milliseconds since the Unix epoch.</param>
    /// <param name="key">The key (ignored when <paramref name="nulls"/> has <see cref="RecordNulls.Key"/>).</param>
    /// <param name="value">The value (ignored when <paramref name="nulls"/> has <see cref="RecordNulls.Value"/>).</param>
    /// <param name="headers">The headers, in order.</param>
    /// <param name="nulls">Which of key and value are null rather than the spans given.</param>
    /// <exception cref="InvalidOperationException">The batch was built and not reset, or would exceed 2 GiB.</exception>
    /// <exception cref="ObjectDisposedException">The builder was disposed.</exception>
    public void Append(long timestamp, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ReadOnlySpan<RecordHeader> headers = default, RecordNulls nulls = RecordNulls.None)
    {
        EnsureAppendable();
        if (_count == 0)
        {
            _baseTimestamp = timestamp;
            _maxTimestamp = timestamp;
        }
        else if (timestamp > _maxTimestamp)
        {
            _maxTimestamp = timestamp;
        }

        long timestampDelta = timestamp - _baseTimestamp;
        int offsetDelta = _count;
        int keyLength = (nulls & RecordNulls.Key) != 0 ? -1 : key.Length;
        int valueLength = (nulls & RecordNulls.Value) != 0 ? -1 : value.Length;

        int body = RecordEncoder.BodySize(timestampDelta, offsetDelta, keyLength, valueLength, headers);
        int total = body < 0 ? -1 : RecordEncoder.TotalSize(body);
        if (total < 0 || total > int.MaxValue - _length)
        {
            throw new InvalidOperationException("The record batch would exceed 2 GiB.");
        }

        EnsureCapacity(total);
        RecordEncoder.WriteRecord(_buffer.AsSpan(_length, total), body, timestampDelta, offsetDelta, key, keyLength, value, valueLength, headers);
        _length += total;
        _count++;
    }

    /// <summary>
    /// Appends the single record of a control batch (a transaction marker) and sets <see cref="IsControl"/>: key
    /// <c>version 0, type</c>, value <c>version 0, coordinator epoch</c>.
    /// </summary>
    /// <param name="timestamp">The timestamp in milliseconds since the Unix epoch.</param>
    /// <param name="type">The control type.</param>
    /// <param name="coordinatorEpoch">The transaction coordinator's epoch.</param>
    /// <exception cref="InvalidOperationException">Records were already appended, or the batch was built and not reset.</exception>
    public void AppendControlRecord(long timestamp, ControlRecordType type, int coordinatorEpoch)
    {
        EnsureAppendable();
        if (_count != 0)
        {
            throw new InvalidOperationException("A control batch holds exactly one record; Reset the builder first.");
        }

        Span<byte> key = stackalloc byte[4];
        BinaryPrimitives.WriteInt16BigEndian(key, 0);
        BinaryPrimitives.WriteInt16BigEndian(key.Slice(2), (short)type);
        Span<byte> value = stackalloc byte[6];
        BinaryPrimitives.WriteInt16BigEndian(value, 0);
        BinaryPrimitives.WriteInt32BigEndian(value.Slice(2), coordinatorEpoch);
        IsControl = true;
        Append(timestamp, key, value);
    }

    /// <summary>
    /// Finishes the batch: compresses the records section (unless <see cref="CompressionType.None"/>), writes the header
    /// and the CRC-32C. Calling it again returns the same bytes until <see cref="Reset"/>.
    /// </summary>
    /// <returns>The complete batch, valid until the next <see cref="Reset"/>, <see cref="Append"/> or <see cref="Dispose"/>.</returns>
    /// <exception cref="InvalidOperationException">No records were appended.</exception>
    /// <exception cref="ObjectDisposedException">The builder was disposed.</exception>
    public ReadOnlyMemory<byte> Build()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_isBuilt)
        {
            return _built;
        }

        if (_count == 0)
        {
            throw new InvalidOperationException("A record batch needs at least one record.");
        }

        if (Compression == CompressionType.None)
        {
            WriteHeader(_buffer.AsSpan(0, _length));
            _built = _buffer.AsMemory(0, _length);
        }
        else
        {
            ICompressionCodec codec = CompressionCodecs.Get(Compression);
            ContiguousBufferWriter output = _compressed ??= new ContiguousBufferWriter(_buffer.Length);
            output.Clear();
            output.GetSpan(RecordBatchLayout.HeaderSize);
            output.Advance(RecordBatchLayout.HeaderSize);
            codec.Compress(_buffer.AsSpan(RecordBatchLayout.HeaderSize, _length - RecordBatchLayout.HeaderSize), output, CompressionLevel ?? codec.DefaultLevel);
            WriteHeader(output.WrittenSpan);
            _built = output.WrittenMemory;
        }

        _isBuilt = true;
        return _built;
    }

    /// <summary>Builds the batch (see <see cref="Build"/>) and appends it to <paramref name="destination"/>.</summary>
    /// <param name="destination">Where the batch is written.</param>
    /// <returns>The number of bytes written.</returns>
    public int WriteTo(IBufferWriter<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ReadOnlySpan<byte> batch = Build().Span;
        batch.CopyTo(destination.GetSpan(batch.Length));
        destination.Advance(batch.Length);
        return batch.Length;
    }

    /// <summary>Clears the records to start the next batch, keeping the header settings and the buffers.</summary>
    public void Reset()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _length = RecordBatchLayout.HeaderSize;
        _count = 0;
        _isBuilt = false;
        _built = default;
    }

    /// <summary>Returns the buffers to the pool. Idempotent.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        byte[] buffer = _buffer;
        _buffer = [];
        _built = default;
        ArrayPool<byte>.Shared.Return(buffer);
        _compressed?.Dispose();
        _compressed = null;
    }

    private void WriteHeader(Span<byte> batch)
    {
        int attributes = (int)Compression;
        if (TimestampType == TimestampType.LogAppendTime)
        {
            attributes |= RecordBatchLayout.TimestampTypeBit;
        }

        if (IsTransactional)
        {
            attributes |= RecordBatchLayout.TransactionalBit;
        }

        if (IsControl)
        {
            attributes |= RecordBatchLayout.ControlBit;
        }

        RecordEncoder.WriteBatchHeader(batch, BaseOffset, PartitionLeaderEpoch, (short)attributes, _count,
            _baseTimestamp, _maxTimestamp, ProducerId, ProducerEpoch, BaseSequence);
    }

    private void EnsureAppendable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_isBuilt)
        {
            throw new InvalidOperationException("The batch was built; call Reset before appending to a new batch.");
        }
    }

    private void EnsureCapacity(int extra)
    {
        if (_buffer.Length - _length >= extra)
        {
            return;
        }

        long needed = (long)_length + extra;
        int size = (int)Math.Min(Math.Max(needed, (long)_buffer.Length * 2), Array.MaxLength);
        if (size < needed)
        {
            throw new InvalidOperationException("The record batch would exceed the largest array.");
        }

        byte[] next = ArrayPool<byte>.Shared.Rent(size);
        _buffer.AsSpan(0, _length).CopyTo(next);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = next;
    }
}
