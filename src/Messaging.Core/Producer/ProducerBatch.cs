using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using Messaging.Compression;
using Messaging.Protocol;
using Messaging.Records;
using Messaging.Threading;

namespace Messaging.Producer;

/// <summary>
/// One partition's record batch (magic 2) from its first record to its acknowledgement: records are encoded
/// straight into a buffer from the producer's <see cref="BufferPool"/>, behind a 61-byte gap for the header;
/// <see cref="Seal"/> compresses once (into the same buffer) and <see cref="Stamp"/> writes the header with the
/// producer id, epoch and base sequence of the attempt, recomputing the CRC only when they changed.
/// </summary>
/// <remarks>
/// <para>Ownership: the partition (under its lock) owns the batch while it is open or queued; a sender owns it
/// from drain to response; then it is completed once, its buffer goes back to the pool and the object back to
/// its own pool. Every field is touched by one owner at a time, so the batch has no lock of its own.</para>
/// <para>Delivery bookkeeping: a record produced with a handler or awaited through <c>ProduceAsync</c> gets one
/// <see cref="Completion"/> entry (record index, target, state, timestamp) in a pooled array; a record produced
/// with neither gets none. Completing a batch walks the entries; offsets are the base offset plus the index.</para>
/// </remarks>
internal sealed class ProducerBatch
{
    private const int MaxPooled = 1024;
    /// <summary>
    /// The delivery bookkeeping arrays. Not <see cref="ArrayPool{T}.Shared"/>: a batch grows its array on the producing
    /// thread and gives it up on the sender's, and the shared pool's per-thread caches would strand the arrays there
    /// (so the producing thread misses and allocates); one set of buckets shared by all threads does not. It keeps up
    /// to 32 arrays per size (a producer at its bound has about that many batches in flight) and pools arrays of up
    /// to 64 Ki records (2 MiB); batches of more records, tiny ones, allocate theirs.
    /// </summary>
    private static readonly ArrayPool<Completion> CompletionArrays = ArrayPool<Completion>.Create(maxArrayLength: 64 * 1024, maxArraysPerBucket: 32);
    private static readonly ConcurrentQueue<ProducerBatch> Pool = new();
    private static int _pooledCount;

    private Completion[] _completions = [];
    private int _completionCount;
    private long _baseTimestamp;
    private long _maxTimestamp;
    private bool _sealed;
    private CompressionType _codec;
    private long _stampedProducerId;
    private short _stampedEpoch;
    private int _stampedSequence;
    private TaskCompletionSource? _done;

    /// <summary>1 once the records' outcome was reported: the response loop and the expiry of an in-flight batch may race to report, and only the first does.</summary>
    private int _reported;

    private ProducerBatch()
    {
        Partition = null!;
        Buffer = [];
    }

    /// <summary>The partition the batch belongs to.</summary>
    public PartitionState Partition { get; private set; }

    /// <summary>The buffer (from the pool): header gap, then records (or, once sealed, the wire form).</summary>
    public byte[] Buffer { get; private set; }

    /// <summary>Bytes used in <see cref="Buffer"/>, header gap included.</summary>
    public int Length { get; private set; }

    /// <summary>The most bytes the batch may grow to (<c>batch.size</c>, or one oversized record's size).</summary>
    public int Limit { get; private set; }

    /// <summary>Records in the batch.</summary>
    public int Count { get; private set; }

    /// <summary>When the batch was created (a timestamp of the producer's <see cref="Threading.Clock"/>): linger counts from here.</summary>
    public long CreatedTicks { get; private set; }

    /// <summary>When <c>delivery.timeout.ms</c> runs out for the batch's records (a timestamp of the producer's clock).</summary>
    public long DeadlineTicks { get; private set; }

    /// <summary>Sent attempts so far.</summary>
    public int Attempts { get; set; }

    /// <summary>Not to be sent again before this (a timestamp of the producer's clock).</summary>
    public long RetryAtTicks { get; set; }

    /// <summary>The error of the last failed attempt, reported as the cause if the batch times out.</summary>
    public Exception? LastError { get; set; }

    /// <summary>The error code of the last failed attempt (<see cref="ErrorCode.None"/> for a transport failure).</summary>
    public ErrorCode LastErrorCode { get; set; }

    /// <summary>The producer id the batch is sent with (-1 without idempotence).</summary>
    public long ProducerId { get; private set; } = -1;

    /// <summary>The producer epoch the batch is sent with (-1 without idempotence).</summary>
    public short ProducerEpoch { get; private set; } = -1;

    /// <summary>The sequence number of the first record, or -1 while none is assigned.</summary>
    public int BaseSequence { get; private set; } = -1;

    /// <summary>True once the sequence was rewritten by an epoch bump (the Java client's <c>sequenceHasBeenReset</c>).</summary>
    public bool SequenceHasBeenReset { get; private set; }

    /// <summary>
    /// False for a batch made by <see cref="SplitInHalves"/>: its buffer was allocated for it outside the pool, and is
    /// neither grown from nor returned to the pool.
    /// </summary>
    public bool HasPooledBuffer { get; private set; } = true;

    /// <summary>True once the batch was completed (delivered or failed).</summary>
    public bool IsDone { get; private set; }

    /// <summary>True once the records' outcome was reported (delivered, failed, or expired while in flight).</summary>
    public bool IsReported => Volatile.Read(ref _reported) != 0;

    /// <summary>True when a sequence is assigned.</summary>
    public bool HasSequence => BaseSequence >= 0;

    /// <summary>The sequence number of the last record.</summary>
    public int LastSequence => IncrementSequence(BaseSequence, Count - 1);

    /// <summary>The bytes that go on the wire, valid once sealed and stamped.</summary>
    public ReadOnlyMemory<byte> Wire => Buffer.AsMemory(0, Length);

    /// <summary>Kafka's sequence arithmetic: sequences wrap from <see cref="int.MaxValue"/> to 0.</summary>
    public static int IncrementSequence(int sequence, int increment) =>
        sequence > int.MaxValue - increment ? increment - (int.MaxValue - sequence) - 1 : sequence + increment;

    /// <summary>
    /// Orders two sequences of one partition across the wrap from <see cref="int.MaxValue"/> to 0: <paramref name="x"/>
    /// comes first when <paramref name="y"/> is less than half the sequence space (2^30) ahead of it, counting on
    /// past <see cref="int.MaxValue"/> at 0 (the sequences a partition holds unacknowledged at once span far less).
    /// Negative, zero or positive, as <see cref="int.CompareTo(int)"/>; both must be sequences (not -1).
    /// </summary>
    public static int CompareSequences(int x, int y)
    {
        if (x == y)
        {
            return 0;
        }

        var ahead = unchecked(y - x) & int.MaxValue; // y - x modulo 2^31, the sequence space
        return ahead < 1 << 30 ? -1 : 1;
    }

    /// <summary>Gets a batch over <paramref name="buffer"/> for <paramref name="partition"/>.</summary>
    public static ProducerBatch Rent(PartitionState partition, byte[] buffer, int limit, long nowTicks, long deliveryTimeoutTicks)
    {
        if (Pool.TryDequeue(out var batch))
        {
            Interlocked.Decrement(ref _pooledCount);
        }
        else
        {
            batch = new ProducerBatch();
        }

        batch.Partition = partition;
        batch.Buffer = buffer;
        batch.Length = RecordBatchLayout.HeaderSize;
        batch.Limit = limit;
        batch.CreatedTicks = nowTicks;
        batch.DeadlineTicks = Clock.Add(nowTicks, deliveryTimeoutTicks);
        return batch;
    }

    /// <summary>
    /// Splits a batch of several records that the broker refused as too large (the Java client's <c>split</c>) into
    /// two batches, the first and the second half of its records, in order, each with its records' delivery
    /// bookkeeping and this batch's creation time, deadline, attempts and last error; neither has a sequence yet.
    /// Their buffers are allocated for them outside the pool, as the Java client allocates its split batches: the
    /// split never waits for memory, and this batch's pooled buffer goes back to the pool right after. This batch is
    /// left with its records' bytes but no bookkeeping: release it without reporting it. Called by the sender that
    /// owns it, once it is sealed.
    /// </summary>
    /// <exception cref="KafkaProtocolException">The batch's own bytes do not decode (they were encoded by this producer, so only a bug gets here).</exception>
    public (ProducerBatch First, ProducerBatch Second) SplitInHalves()
    {
        Debug.Assert(_sealed && Count > 1, "Only a sealed batch of several records is split.");
        using var decompressed = _codec == CompressionType.None ? null : new DecompressionBuffer();
        var reader = new RecordBatchReader(Wire);
        if (!reader.TryReadNext(out var wire))
        {
            throw new KafkaProtocolException("RecordBatch", "Records", 0, "A batch to split did not decode.");
        }

        var records = wire.GetRecords(decompressed);
        var recordBytes = decompressed?.WrittenCount ?? Length - RecordBatchLayout.HeaderSize;
        var firstCount = (Count + 1) / 2;
        var first = RentSplitPart((long)recordBytes * firstCount / Count, firstCount);
        var second = RentSplitPart((long)recordBytes * (Count - firstCount) / Count, Count - firstCount);
        var headers = ArrayPool<RecordHeader>.Shared.Rent(16);
        try
        {
            var completion = 0;
            for (var i = 0; records.TryRead(out var record); i++)
            {
                object? target = null;
                object? state = null;
                if (completion < _completionCount && _completions[completion].Index == i)
                {
                    target = _completions[completion].Target;
                    state = _completions[completion].State;
                    completion++;
                }

                if (record.Headers.Count > headers.Length)
                {
                    ArrayPool<RecordHeader>.Shared.Return(headers, clearArray: true);
                    headers = ArrayPool<RecordHeader>.Shared.Rent(record.Headers.Count);
                }

                var headerCount = record.Headers.CopyTo(headers);
                var nulls = (record.IsKeyNull ? RecordNulls.Key : RecordNulls.None) | (record.IsValueNull ? RecordNulls.Value : RecordNulls.None);
                var part = i < firstCount ? first : second;
                if (!part.TryAppend(record.Timestamp, record.Key.Span, record.Value.Span, headers.AsSpan(0, headerCount), nulls, target, state, pool: null))
                {
                    throw new InvalidOperationException("A split batch could not take a record; it has no limit.");
                }
            }
        }
        finally
        {
            ArrayPool<RecordHeader>.Shared.Return(headers, clearArray: true);
        }

        // The records' outcome is the parts' to report now (left as it was if the split failed: the batch is then failed whole).
        _completions.AsSpan(0, _completionCount).Clear();
        _completionCount = 0;
        foreach (var part in (ReadOnlySpan<ProducerBatch>)[first, second])
        {
            part.Attempts = Attempts;
            part.LastError = LastError;
            part.LastErrorCode = LastErrorCode;
        }

        return (first, second);
    }

    /// <summary>
    /// A batch for part of this split one — its partition, creation time and delivery deadline — with a buffer of its
    /// own sized for its share of the record bytes (it grows, outside the pool, if the share was larger).
    /// </summary>
    private ProducerBatch RentSplitPart(long shareBytes, int count)
    {
        // Deltas are counted from the part's first record: each record may take a few bytes more than it did.
        var size = RecordBatchLayout.HeaderSize + (int)Math.Min(shareBytes + (16L * count), Array.MaxLength / 2);
        var part = Rent(Partition, new byte[size], int.MaxValue, CreatedTicks, DeadlineTicks - CreatedTicks);
        part.HasPooledBuffer = false;
        return part;
    }

    /// <summary>
    /// Brings the delivery deadline forward to <paramref name="deadlineTicks"/> if that is earlier: a record that
    /// waited before it was appended (for metadata or memory) keeps the deadline of its call. Under the partition's lock.
    /// </summary>
    public void TightenDeadline(long deadlineTicks)
    {
        if (deadlineTicks < DeadlineTicks)
        {
            DeadlineTicks = deadlineTicks;
        }
    }

    /// <summary>An upper bound of the bytes one record takes in a batch (the record's length prefix included).</summary>
    public static int MaxRecordSize(int keyLength, int valueLength, ReadOnlySpan<RecordHeader> headers) =>
        (int)Math.Min(RecordEncoder.MaxRecordSize(keyLength, valueLength, headers), int.MaxValue / 2);

    /// <summary>
    /// Appends a record if it fits in <see cref="Limit"/>; grows the buffer from <paramref name="pool"/> when needed
    /// and allowed. The first record of a batch always fits (its buffer was sized for it).
    /// </summary>
    /// <returns>False when the batch is full (nothing was written).</returns>
    public bool TryAppend(long timestampMs, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ReadOnlySpan<RecordHeader> headers,
        RecordNulls nulls, object? target, object? state, BufferPool? pool)
    {
        Debug.Assert(!_sealed, "A sealed batch takes no records.");
        if (Count == 0)
        {
            _baseTimestamp = timestampMs;
            _maxTimestamp = timestampMs;
        }
        else if (Count >= KafkaProducerOptions.MaxRecordsPerBatch)
        {
            return false;
        }

        var timestampDelta = timestampMs - _baseTimestamp;
        var keyLength = (nulls & RecordNulls.Key) != 0 ? -1 : key.Length;
        var valueLength = (nulls & RecordNulls.Value) != 0 ? -1 : value.Length;
        var body = RecordEncoder.BodySize(timestampDelta, Count, keyLength, valueLength, headers);
        var total = body < 0 ? int.MaxValue : RecordEncoder.TotalSize(body);
        if ((long)Length + total > Limit && Count > 0)
        {
            return false;
        }

        if ((long)Length + total > Buffer.Length && !TryGrow(Length + total, pool))
        {
            return false;
        }

        RecordEncoder.WriteRecord(Buffer.AsSpan(Length, total), body, timestampDelta, Count, key, keyLength, value, valueLength, headers);
        if (target is not null)
        {
            AddCompletion(new Completion(Count, target, state, timestampMs));
        }

        if (timestampMs > _maxTimestamp)
        {
            _maxTimestamp = timestampMs;
        }

        Length += total;
        Count++;
        return true;
    }

    /// <summary>Assigns the producer id, epoch and base sequence the next attempt is sent with.</summary>
    public void SetProducerState(long producerId, short epoch, int baseSequence, bool isReset)
    {
        ProducerId = producerId;
        ProducerEpoch = epoch;
        BaseSequence = baseSequence;
        SequenceHasBeenReset |= isReset;
    }

    /// <summary>
    /// Closes the batch for good: compresses the records into the same buffer (once; a batch that does not shrink
    /// is sent uncompressed, which every broker accepts). Called by the sender that drained it.
    /// </summary>
    public void Seal(CompressionType compression, int? level, ContiguousBufferWriter scratch)
    {
        if (_sealed)
        {
            return;
        }

        _sealed = true;
        _codec = CompressionType.None;
        if (compression != CompressionType.None)
        {
            var codec = CompressionCodecs.Get(compression);
            scratch.Clear();
            var records = Buffer.AsSpan(RecordBatchLayout.HeaderSize, Length - RecordBatchLayout.HeaderSize);
            var compressed = codec.Compress(records, scratch, level ?? codec.DefaultLevel);
            if (compressed < records.Length)
            {
                scratch.WrittenSpan.CopyTo(Buffer.AsSpan(RecordBatchLayout.HeaderSize));
                Length = RecordBatchLayout.HeaderSize + compressed;
                _codec = compression;
            }
        }

        _stampedSequence = int.MinValue; // force the first stamp
    }

    /// <summary>Writes the header for this attempt (producer id, epoch, sequence) and its CRC, unless already written with the same values.</summary>
    public void Stamp()
    {
        Debug.Assert(_sealed, "Seal before stamping.");
        if (_stampedSequence == BaseSequence && _stampedProducerId == ProducerId && _stampedEpoch == ProducerEpoch)
        {
            return;
        }

        var batch = Buffer.AsSpan(0, Length);
        // Base offset 0 (the broker assigns it), partition leader epoch -1 (the broker stamps it).
        RecordEncoder.WriteBatchHeader(batch, 0, -1, (short)_codec, Count, _baseTimestamp, _maxTimestamp, ProducerId, ProducerEpoch, BaseSequence);
        _stampedProducerId = ProducerId;
        _stampedEpoch = ProducerEpoch;
        _stampedSequence = BaseSequence;
    }

    /// <summary>Reports every record delivered: offsets from <paramref name="baseOffset"/> (-1 when unknown), timestamps the records' own or the broker's log-append time.</summary>
    public void Complete(long baseOffset, long logAppendTimeMs, ProducerLog log)
    {
        if (Interlocked.Exchange(ref _reported, 1) != 0)
        {
            return; // expired while in flight: the records were reported failed already
        }

        var topic = Partition.Topic.Name;
        var partition = Partition.Partition;
        var type = logAppendTimeMs >= 0 ? TimestampType.LogAppendTime : TimestampType.CreateTime;
        for (var i = 0; i < _completionCount; i++)
        {
            ref var entry = ref _completions[i];
            var result = new DeliveryResult(topic, partition, baseOffset < 0 ? -1 : baseOffset + entry.Index,
                new Timestamp(logAppendTimeMs >= 0 ? logAppendTimeMs : entry.TimestampMs, type));
            if (entry.Target is DeliveryPromise promise)
            {
                promise.TrySetResult(result);
            }
            else
            {
                Notify(entry, in result, null, log);
            }

            entry = default;
        }

        _completionCount = 0;
    }

    /// <summary>Reports every record failed with <paramref name="error"/> (each awaiting caller gets its own copy to throw).</summary>
    public void Fail(ProduceException error, ProducerLog log)
    {
        if (Interlocked.Exchange(ref _reported, 1) != 0)
        {
            return; // reported already (expired while in flight, then settled by its response)
        }

        var topic = Partition.Topic.Name;
        var partition = Partition.Partition;
        for (var i = 0; i < _completionCount; i++)
        {
            ref var entry = ref _completions[i];
            var result = new DeliveryResult(topic, partition, -1, new Timestamp(entry.TimestampMs, TimestampType.CreateTime));
            if (entry.Target is DeliveryPromise promise)
            {
                promise.TrySetException(i == 0 ? error : Copy(error));
            }
            else
            {
                Notify(entry, in result, error, log);
            }

            entry = default;
        }

        if (Count > _completionCount)
        {
            log.RecordsFailedWithoutHandler(Count - _completionCount, topic, partition, error.Message);
        }

        _completionCount = 0;
    }

    /// <summary>A task that completes when the batch is done (for flush; asked under the registry's lock, while the batch is registered); allocated only when someone asks.</summary>
    public Task WhenDone()
    {
        lock (this)
        {
            if (IsDone)
            {
                return Task.CompletedTask;
            }

            _done ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _done.Task;
        }
    }

    /// <summary>Takes the buffer away (to return it to the pool) and recycles the batch object.</summary>
    public byte[] Recycle()
    {
        var buffer = Buffer;
        Buffer = [];
        Partition = null!;
        Length = 0;
        Limit = 0;
        Count = 0;
        Attempts = 0;
        RetryAtTicks = 0;
        LastError = null;
        LastErrorCode = ErrorCode.None;
        ProducerId = -1;
        ProducerEpoch = -1;
        BaseSequence = -1;
        SequenceHasBeenReset = false;
        HasPooledBuffer = true;
        _sealed = false;
        _codec = CompressionType.None;
        Volatile.Write(ref _reported, 0);
        lock (this)
        {
            IsDone = false;
            _done = null;
        }

        // The delivery bookkeeping array goes back to its pool, not with this object into the batch pool: a pooled
        // batch that kept it would hoard it from the next large batch, which would then allocate its own.
        if (_completions.Length > 0)
        {
            CompletionArrays.Return(_completions, clearArray: false);
            _completions = [];
        }

        if (Interlocked.Increment(ref _pooledCount) <= MaxPooled)
        {
            Pool.Enqueue(this);
        }
        else
        {
            Interlocked.Decrement(ref _pooledCount);
        }

        return buffer;
    }

    /// <summary>Calls a record's handler (a <see cref="DeliveryHandler"/> with object state, or a pooled <see cref="DeliveryCallback"/>); a handler that throws is logged.</summary>
    private void Notify(in Completion entry, in DeliveryResult result, ProduceException? error, ProducerLog log)
    {
        try
        {
            if (entry.Target is DeliveryHandler handler)
            {
                handler(in result, error, entry.State);
            }
            else
            {
                ((DeliveryCallback)entry.Target).Deliver(in result, error);
            }
        }
        catch (Exception ex)
        {
            log.DeliveryHandlerFailed(ex, Partition.Topic.Name, Partition.Partition);
        }
    }

    private static ProduceException Copy(ProduceException error) =>
        new(error.Kind, error.Code, error.TopicPartition, error.Message, error.IsRetriable, error.InnerException);

    /// <summary>
    /// Marks the batch done for flush waiters: after its records were reported and it left the flush registry,
    /// before it is recycled — so a waiter always waits on the incarnation it saw in the registry.
    /// </summary>
    public void MarkDone()
    {
        TaskCompletionSource? done;
        lock (this)
        {
            IsDone = true;
            done = _done;
        }

        done?.TrySetResult();
    }

    /// <summary>
    /// Marks a batch that was split (<see cref="SplitInHalves"/>) done for flush waiters, who are told only once both
    /// parts are done: a flush that waits for this batch waits for its records, wherever they went (the Java client
    /// chains the split batches' results to the big batch's the same way). Called under the registry's lock, with
    /// the parts registered and not queued yet.
    /// </summary>
    public void MarkDoneWithParts(ProducerBatch first, ProducerBatch second)
    {
        TaskCompletionSource? done;
        lock (this)
        {
            IsDone = true;
            done = _done;
        }

        if (done is not null)
        {
            _ = Task.WhenAll(first.WhenDone(), second.WhenDone()).ContinueWith(
                static (_, waiters) => ((TaskCompletionSource)waiters!).TrySetResult(), done, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private bool TryGrow(int needed, BufferPool? pool)
    {
        if (!HasPooledBuffer)
        {
            // A split part: its buffer is its own, and grows on its own.
            var larger = new byte[Math.Max(needed, (int)Math.Min(Buffer.Length * 2L, Array.MaxLength))];
            Buffer.AsSpan(0, Length).CopyTo(larger);
            Buffer = larger;
            return true;
        }

        Debug.Assert(pool is not null, "A batch with a pooled buffer grows from the pool.");
        var size = pool!.SizeFor(Math.Min(Math.Max(needed, Buffer.Length * 2), Limit));
        if (size < needed)
        {
            return false;
        }

        var grown = pool.TryRent(size);
        if (grown is null)
        {
            return false;
        }

        Buffer.AsSpan(0, Length).CopyTo(grown);
        pool.Return(Buffer);
        Buffer = grown;
        return true;
    }

    private void AddCompletion(in Completion completion)
    {
        if (_completionCount == _completions.Length)
        {
            var grown = CompletionArrays.Rent(Math.Max(64, _completions.Length * 2));
            _completions.AsSpan(0, _completionCount).CopyTo(grown);
            if (_completions.Length > 0)
            {
                CompletionArrays.Return(_completions, clearArray: true);
            }

            _completions = grown;
        }

        _completions[_completionCount++] = completion;
    }

    /// <summary>One record that wants to hear how it went.</summary>
    private readonly struct Completion(int index, object target, object? state, long timestampMs)
    {
        public int Index { get; } = index;

        public object Target { get; } = target;

        public object? State { get; } = state;

        public long TimestampMs { get; } = timestampMs;
    }
}
