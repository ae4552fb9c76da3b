using System.Buffers.Binary;
using System.Globalization;
using Messaging.Records;

namespace Messaging.Consumer;

/// <summary>
/// Turns one <see cref="FetchedPartition"/> into records, slice by slice, on the consuming thread: reads the batches
/// (CRC-checked when asked), skips batches and records before the fetch offset, hides control batches and — under
/// read_committed — aborted transactions, decompresses into pooled buffers, and fills a <see cref="RecordSlice"/>.
/// </summary>
/// <remarks>
/// Per record it decodes into the next pooled record object in place and publishes a handle: no allocation, no lock.
/// Corrupt data (CRC mismatch, malformed or truncated batch, decompression past the limit) becomes a
/// <see cref="ConsumeException"/> naming the partition and the offset the position stays at; records before the
/// corrupt batch are delivered first (the error is kept in <see cref="PendingError"/> until they are).
/// </remarks>
internal sealed class ChunkDecoder
{
    private readonly RecordDecoderOptions _options;
    private readonly bool _readCommitted;
    private readonly PooledDecompressionWriter _writer;
    private readonly AbortedTransactionFilter _filter = new();
    private FetchedPartition? _chunk;
    private RecordBatchReader _batches;
    private RecordReader _records;
    private SharedBuffer? _batchBuffer;
    private bool _inBatch;
    private bool _anyBatch;
    private int _epoch;
    private TimestampType _timestampType;
    private long _batchNext;
    private long _batchBase;

    public ChunkDecoder(RecordDecoderOptions options, bool readCommitted, PooledDecompressionWriter writer)
    {
        _options = options;
        _readCommitted = readCommitted;
        _writer = writer;
    }

    /// <summary>The next offset to deliver from the current chunk.</summary>
    public long NextOffset { get; private set; }

    /// <summary>The leader epoch of the last batch passed in the current chunk (delivered from or skipped), or -1 before any.</summary>
    public int NextEpoch { get; private set; } = -1;

    /// <summary>True when the chunk has nothing more to decode (or failed).</summary>
    public bool IsDone { get; private set; }

    /// <summary>A failure reached after some records were decoded; thrown once those are delivered.</summary>
    public ConsumeException? PendingError { get; private set; }

    public FetchedPartition? Chunk => _chunk;

    public void Start(FetchedPartition chunk)
    {
        Stop();
        _chunk = chunk;
        _batches = new RecordBatchReader(chunk.Records, _options);
        _filter.Reset(_readCommitted ? chunk.AbortedTransactions : null);
        NextEpoch = -1;
        NextOffset = chunk.FetchOffset;
        IsDone = false;
        PendingError = null;
        _inBatch = false;
        _anyBatch = false;
    }

    /// <summary>Lets go of the current chunk's decoding state (the chunk itself is released by its owner).</summary>
    public void Stop()
    {
        EndBatch();
        _chunk = null;
        _records = default;
        _batches = default;
        PendingError = null;
        IsDone = true;
    }

    /// <summary>
    /// Decodes records into <paramref name="slice"/> until it is full or the chunk ends. A failure with records already
    /// decoded in this call is kept in <see cref="PendingError"/>; with none, it is thrown.
    /// </summary>
    /// <exception cref="ConsumeException">The data is corrupt at the current position.</exception>
    public void Decode(RecordSlice slice)
    {
        var chunk = _chunk ?? throw new InvalidOperationException("No chunk to decode.");
        try
        {
            while (slice.Count < slice.Capacity)
            {
                if (!_inBatch && !NextBatch(chunk))
                {
                    IsDone = true;
                    break;
                }

                slice.AddBuffer(_batchBuffer ?? chunk.Frame!);
                long next = NextOffset;
                int epoch = _epoch;
                var timestampType = _timestampType;
                while (slice.Count < slice.Capacity)
                {
                    var slot = slice.Next;
                    if (!_records.TryRead(out slot.View))
                    {
                        break;
                    }

                    if (slot.View.Offset < next)
                    {
                        continue; // before the fetch offset (a batch the fetch started inside)
                    }

                    slot.LeaderEpoch = epoch;
                    slot.TimestampType = timestampType;
                    slice.Commit();
                    next = slot.View.Offset + 1;
                    NextOffset = next; // per record: a later record of the batch may fail to decode, and the position must stay past those delivered
                    NextEpoch = epoch;
                }

                if (_records.RemainingCount == 0)
                {
                    // Compaction can leave the batch's last offset past its last record: the next offset follows the batch.
                    if (_batchNext > NextOffset)
                    {
                        NextOffset = _batchNext;
                        NextEpoch = _epoch;
                    }

                    EndBatch();
                }
            }
        }
        catch (KafkaProtocolException ex)
        {
            var error = Corrupt(chunk, ex);
            EndBatch();
            IsDone = true;
            if (slice.Count == 0)
            {
                throw error;
            }

            PendingError = error;
        }

        slice.NextOffset = NextOffset;
        slice.NextEpoch = NextEpoch;
    }

    private bool NextBatch(FetchedPartition chunk)
    {
        while (true)
        {
            _batchBase = PeekBaseOffset();
            if (!_batches.TryReadNext(out var batch))
            {
                if (!_anyBatch && _batches.RemainingBytes > 0)
                {
                    throw new KafkaProtocolException(nameof(RecordBatch), "BatchLength", _batches.Position,
                        "the fetched data holds no complete batch (" + _batches.RemainingBytes.ToString(CultureInfo.InvariantCulture) +
                        " bytes): the stored batch is truncated or its length is corrupt");
                }

                return false;
            }

            _anyBatch = true;
            if (batch.LastOffset < NextOffset)
            {
                continue; // wholly before the fetch offset
            }

            if (_readCommitted)
            {
                _filter.Advance(batch);
                if (batch.IsControl)
                {
                    if (_filter.IsAborting(batch.ProducerId) && IsAbortMarker(batch))
                    {
                        _filter.EndAborted(batch.ProducerId);
                    }

                    NextOffset = batch.LastOffset + 1;
                    NextEpoch = batch.PartitionLeaderEpoch;
                    continue;
                }

                if (_filter.IsAborted(batch))
                {
                    NextOffset = batch.LastOffset + 1;
                    NextEpoch = batch.PartitionLeaderEpoch;
                    continue;
                }
            }
            else if (batch.IsControl)
            {
                NextOffset = batch.LastOffset + 1;
                NextEpoch = batch.PartitionLeaderEpoch;
                continue;
            }

            if (batch.Compression != CompressionType.None)
            {
                _writer.Start(batch.Memory.Length, batch.Compression);
                try
                {
                    _records = batch.GetRecords(_writer);
                }
                catch
                {
                    _writer.Abandon();
                    throw;
                }

                var array = _writer.Detach(out int length);
                _batchBuffer = SharedBuffer.ForDecompressed(array, length, _writer.Pool);
            }
            else
            {
                _records = batch.GetRecords();
                _batchBuffer = null;
            }

            _epoch = batch.PartitionLeaderEpoch;
            _timestampType = batch.TimestampType;
            _batchNext = batch.LastOffset + 1;
            _inBatch = true;
            return true;
        }
    }

    private bool IsAbortMarker(in RecordBatch batch)
    {
        bool compressed = batch.Compression != CompressionType.None;
        if (compressed)
        {
            _writer.Start(batch.Memory.Length, batch.Compression);
        }

        try
        {
            var records = batch.GetRecords(compressed ? _writer : null);
            return records.TryRead(out var record) && ControlRecord.Parse(record).Type == ControlRecordType.Abort;
        }
        finally
        {
            if (compressed)
            {
                _writer.Abandon();
            }
        }
    }

    private void EndBatch()
    {
        _inBatch = false;
        _records = default;
        var buffer = _batchBuffer;
        _batchBuffer = null;
        buffer?.Release();
    }

    private long PeekBaseOffset()
    {
        var span = _chunk!.Records.Span;
        int position = _batches.Position;
        return span.Length - position >= 8 ? BinaryPrimitives.ReadInt64BigEndian(span.Slice(position)) : -1;
    }

    private ConsumeException Corrupt(FetchedPartition chunk, KafkaProtocolException ex)
    {
        string message = "Corrupt data in " + chunk.TopicPartition + " at offset " + NextOffset.ToString(CultureInfo.InvariantCulture) +
            (_batchBase >= 0 ? " (batch with base offset " + _batchBase.ToString(CultureInfo.InvariantCulture) + ")" : "") +
            ": " + ex.Message + " The position stays at " + NextOffset.ToString(CultureInfo.InvariantCulture) +
            " and the partition is held: seek past the batch to skip it.";
        return new ConsumeException(message, ConsumeErrorKind.CorruptRecord, chunk.TopicPartition, NextOffset, ErrorCode.CorruptMessage, ex);
    }
}
