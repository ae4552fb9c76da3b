using Messaging.Diagnostics;
using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Messaging.Partitioners;
using Messaging.Producer;
using Messaging.Records;
using Messaging.Threading;

namespace Messaging;

/// <summary>
/// Produces records to Kafka. Thread-safe and meant to be shared: one producer per process serves every thread.
/// Records are batched per partition (<see cref="KafkaProducerOptions.Linger"/>, <see cref="KafkaProducerOptions.BatchSize"/>),
/// sent per broker in requests that carry many partitions, retried until <see cref="KafkaProducerOptions.DeliveryTimeout"/>,
/// and — with idempotence, the default — written exactly once and in order per partition.
/// </summary>
/// <remarks>
/// <para><b>Two ways to produce.</b> <see cref="ProduceAsync(string, ReadOnlyMemory{byte}?, ReadOnlyMemory{byte}?, IReadOnlyList{RecordHeader}?, int?, Timestamp?, CancellationToken)"/> returns a <see cref="ValueTask{TResult}"/> that completes when
/// the record is acknowledged (from a pooled source: no Task per record; await it once — to block on it or await it
/// twice, use <see cref="ValueTask{TResult}.AsTask"/>: reading its result before it completed throws
/// <see cref="InvalidOperationException"/>). <see cref="Produce(string, ReadOnlySpan{byte}, ReadOnlySpan{byte}, DeliveryHandler?, object?)"/>
/// returns as soon as the record is in a batch and reports the outcome to a <see cref="DeliveryHandler"/> — pass a
/// cached delegate and per-record state, and producing allocates nothing; with no handler it is fire-and-forget.</para>
/// <para><b>Blocking.</b> Producing waits only for the topic's metadata (its first, or again once the topic was
/// dropped after <see cref="KafkaProducerOptions.MetadataMaxIdle"/> without records) and for buffer memory
/// (<see cref="KafkaProducerOptions.BufferMemory"/>), at most <see cref="KafkaProducerOptions.MaxBlock"/> (and never
/// past <see cref="KafkaProducerOptions.DeliveryTimeout"/>): <c>ProduceAsync</c> waits asynchronously, <c>Produce</c>
/// blocks its thread.</para>
/// <para><b>Outcome bound.</b> Every record's outcome — delivered or failed — arrives within
/// <see cref="KafkaProducerOptions.DeliveryTimeout"/> after the call that produced it, plus at most 200 ms (the 50 ms
/// period of the producer's housekeeping, timer ticks and scheduling), whatever the cluster does: unreachable from the start, gone mid-stream, or
/// without the topic. A batch still in flight when its deadline passes is reported as timed out then; the late
/// response only settles the bookkeeping. <see cref="FlushAsync"/> returns within the same bound.</para>
/// <para><b>Errors.</b> A record that is not delivered fails with a <see cref="ProduceException"/> whose
/// <see cref="ProduceException.Kind"/>, <see cref="ProduceException.Code"/> and <c>IsRetriable</c> say what
/// happened; nothing is reported delivered that the broker did not acknowledge.</para>
/// <para><b>Disposal.</b> <see cref="DisposeAsync"/> stops new records, sends what is buffered for up to
/// <see cref="KafkaProducerOptions.CloseTimeout"/>, fails what is left with <see cref="ProduceErrorKind.Disposed"/>
/// and closes every connection; later calls throw <see cref="ObjectDisposedException"/>.</para>
/// </remarks>
public sealed partial class KafkaProducer : IKafkaProducer
{
    private static readonly long UnixEpochTicks = DateTime.UnixEpoch.Ticks;

    private readonly ProducerCore _core;
    private readonly ProducerSettings _settings;
    private readonly RecordAccumulator _accumulator;
    private readonly BufferPool _pool;
    private readonly BrokerSenders _senders;
    private readonly TopicMetadataWaiter _topics;
    private readonly ProducerIdRequester _producerId;
    private readonly IPartitioner? _custom;
    private readonly ProduceLane _lane;
    private readonly string _clientId;
    private int _disposed;

    /// <summary>Creates a producer. It connects lazily: the first record to a topic fetches its metadata.</summary>
    /// <param name="options">The settings; validated now, copied, and not read again.</param>
    /// <exception cref="ArgumentException">A setting is invalid (the message names it).</exception>
    public KafkaProducer(KafkaProducerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _core = new ProducerCore(options);
        _settings = _core.Settings;
        _accumulator = _core.Accumulator;
        _pool = _core.Pool;
        _senders = _core.Senders;
        _topics = _core.Topics;
        _producerId = _core.ProducerId;
        _custom = _settings.CustomPartitioner;
        _lane = new ProduceLane(AppendWaitingAsync, WaitExpired, _settings, NeedsMetadata, WaitForMetadataAsync);
        _clientId = options.ClientId;
    }

    /// <summary>The producer's internals, for tests in this repository.</summary>
    internal ProducerCore Core => _core;

    /// <summary>
    /// Produces a record held in arrays and completes when it is acknowledged (per <see cref="KafkaProducerOptions.Acks"/>).
    /// A null array is a Kafka null, an empty one an empty key or value.
    /// </summary>
    /// <param name="topic">The topic.</param>
    /// <param name="key">The key, or null for none (placed by the sticky partitioner). Copied before the call returns: the array may be reused at once.</param>
    /// <param name="value">The value, or null (a tombstone). Copied before the call returns: the array may be reused at once.</param>
    /// <param name="headers">The headers, or null.</param>
    /// <param name="partition">The partition, or null to let the partitioner choose (a negative one, or one the topic does not have once its metadata is fetched again, throws <see cref="ArgumentOutOfRangeException"/>).</param>
    /// <param name="timestamp">The record's timestamp, or null for now.</param>
    /// <param name="cancellationToken">Stops waiting (for metadata, memory or the acknowledgement); a record already buffered may still be delivered.</param>
    /// <returns>Where the record landed.</returns>
    /// <exception cref="ProduceException">The record was not delivered; <see cref="ProduceException.Kind"/> says why.</exception>
    /// <exception cref="ObjectDisposedException">The producer was disposed.</exception>
    public ValueTask<DeliveryResult> ProduceAsync(string topic, byte[]? key, byte[]? value,
        IReadOnlyList<RecordHeader>? headers = null, int? partition = null, Timestamp? timestamp = null, CancellationToken cancellationToken = default) =>
        // Explicitly typed: a null array converts to an empty ReadOnlyMemory, which is not a Kafka null.
        ProduceAsync(topic, key is null ? (ReadOnlyMemory<byte>?)null : new ReadOnlyMemory<byte>(key), value is null ? (ReadOnlyMemory<byte>?)null : new ReadOnlyMemory<byte>(value),
            headers, partition, timestamp, cancellationToken);

    /// <summary>
    /// Produces a record and completes when it is acknowledged (per <see cref="KafkaProducerOptions.Acks"/>).
    /// </summary>
    /// <param name="topic">The topic.</param>
    /// <param name="key">The key, or null for none (placed by the sticky partitioner). Copied before the call returns: the memory may be reused at once. (A null <c>byte[]</c> converts to an empty memory, not to null: arrays go to the other overload.)</param>
    /// <param name="value">The value, or null (a tombstone). Copied before the call returns: the memory may be reused at once.</param>
    /// <param name="headers">The headers, or null.</param>
    /// <param name="partition">The partition, or null to let the partitioner choose (a negative one, or one the topic does not have once its metadata is fetched again, throws <see cref="ArgumentOutOfRangeException"/>).</param>
    /// <param name="timestamp">The record's timestamp, or null for now.</param>
    /// <param name="cancellationToken">Stops waiting (for metadata, memory or the acknowledgement); a record already buffered may still be delivered.</param>
    /// <returns>Where the record landed.</returns>
    /// <exception cref="ProduceException">The record was not delivered; <see cref="ProduceException.Kind"/> says why.</exception>
    /// <exception cref="ObjectDisposedException">The producer was disposed.</exception>
    public ValueTask<DeliveryResult> ProduceAsync(string topic, ReadOnlyMemory<byte>? key, ReadOnlyMemory<byte>? value,
        IReadOnlyList<RecordHeader>? headers = null, int? partition = null, Timestamp? timestamp = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(topic);
        CheckPartition(partition, nameof(partition));
        if (Volatile.Read(ref _disposed) != 0)
        {
            return ValueTask.FromException<DeliveryResult>(Disposed());
        }

        if (KafkaActivities.IsEnabled && StartSend(topic, ref headers) is { } activity)
        {
            return TraceDeliveryAsync(ProduceUntraced(topic, key, value, headers, partition, timestamp, cancellationToken), activity);
        }

        return ProduceUntraced(topic, key, value, headers, partition, timestamp, cancellationToken);
    }

    private ValueTask<DeliveryResult> ProduceUntraced(string topic, ReadOnlyMemory<byte>? key, ReadOnlyMemory<byte>? value,
        IReadOnlyList<RecordHeader>? headers, int? partition, Timestamp? timestamp, CancellationToken cancellationToken)
    {
        var nulls = (key is null ? RecordNulls.Key : RecordNulls.None) | (value is null ? RecordNulls.Value : RecordNulls.None);
        var timestampMs = timestamp?.UnixTimeMilliseconds ?? NowMs();
        var promise = DeliveryPromise.Rent();
        var result = promise.AsValueTask();
        try
        {
            if (!_lane.HasWaiting(topic))
            {
                var rented = HeaderSpan(headers, out var headerSpan);
                try
                {
                    if (TryAppend(topic, key.GetValueOrDefault().Span, value.GetValueOrDefault().Span, nulls, headerSpan, partition ?? -1,
                            timestampMs, promise, null, 0, out _) == Outcome.Appended)
                    {
                        promise.RegisterCancellation(cancellationToken);
                        return result;
                    }
                }
                finally
                {
                    ReturnHeaders(rented);
                }
            }

            // Wait for metadata or memory in the lane, behind anything already waiting there.
            EnqueueCopy(topic, key.GetValueOrDefault().Span, value.GetValueOrDefault().Span, nulls, headers, partition ?? -1, timestampMs, promise, cancellationToken);
            return result;
        }
        catch (Exception ex)
        {
            promise.Abandon();
            return ValueTask.FromException<DeliveryResult>(ex);
        }
    }

    /// <summary>
    /// Produces a record without waiting for it: returns once it is in a batch. The outcome goes to
    /// <paramref name="onDelivery"/> (on an I/O thread), or nowhere when it is null (failures are then logged).
    /// </summary>
    /// <param name="topic">The topic.</param>
    /// <param name="key">The key bytes (copied before the call returns). An empty span is an empty key; for no key use <see cref="Produce(string, in ProducerRecord, DeliveryHandler?, object?)"/>.</param>
    /// <param name="value">The value bytes (copied before the call returns).</param>
    /// <param name="onDelivery">Told the outcome, or null.</param>
    /// <param name="state">Passed to <paramref name="onDelivery"/>.</param>
    /// <exception cref="ProduceException">The record could not be buffered (<see cref="ProduceErrorKind.BufferExhausted"/>, <see cref="ProduceErrorKind.MetadataTimeout"/>, <see cref="ProduceErrorKind.RecordTooLarge"/>); the handler is not called.</exception>
    /// <exception cref="ObjectDisposedException">The producer was disposed.</exception>
    public void Produce(string topic, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, DeliveryHandler? onDelivery = null, object? state = null)
    {
        ArgumentNullException.ThrowIfNull(topic);
        ProduceBlocking(topic, key, value, RecordNulls.None, default, -1, NowMs(), onDelivery, state);
    }

    /// <summary>
    /// Produces a record described over spans (null key or value, headers, partition, timestamp) without waiting
    /// for it; see <see cref="Produce(string, ReadOnlySpan{byte}, ReadOnlySpan{byte}, DeliveryHandler?, object?)"/>.
    /// </summary>
    /// <param name="topic">The topic.</param>
    /// <param name="record">The record; its bytes are copied before the call returns.</param>
    /// <param name="onDelivery">Told the outcome, or null.</param>
    /// <param name="state">Passed to <paramref name="onDelivery"/>.</param>
    /// <exception cref="ProduceException">The record could not be buffered; the handler is not called.</exception>
    /// <exception cref="ObjectDisposedException">The producer was disposed.</exception>
    public void Produce(string topic, in ProducerRecord record, DeliveryHandler? onDelivery = null, object? state = null)
    {
        ArgumentNullException.ThrowIfNull(topic);
        ProduceBlocking(topic, record.Key, record.Value, record.Nulls, record.Headers, record.Partition ?? -1,
            record.Timestamp?.UnixTimeMilliseconds ?? NowMs(), onDelivery, state);
    }

    /// <summary>
    /// Produces a record without waiting for it, reporting the outcome to <paramref name="onDelivery"/> with state of
    /// any type (a value type is not boxed: the handler and state wait in a pooled holder).
    /// </summary>
    /// <typeparam name="TState">The state's type.</typeparam>
    /// <param name="topic">The topic.</param>
    /// <param name="key">The key bytes (copied before the call returns).</param>
    /// <param name="value">The value bytes (copied before the call returns).</param>
    /// <param name="state">Passed to <paramref name="onDelivery"/> (first, as in <c>string.Create</c>: a lambda in its place would make the call ambiguous with the object-state overload).</param>
    /// <param name="onDelivery">Told the outcome.</param>
    /// <exception cref="ProduceException">The record could not be buffered; the handler is not called.</exception>
    /// <exception cref="ObjectDisposedException">The producer was disposed.</exception>
    public void Produce<TState>(string topic, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, TState state, DeliveryHandler<TState> onDelivery)
    {
        ArgumentNullException.ThrowIfNull(topic);
        ArgumentNullException.ThrowIfNull(onDelivery);
        var callback = DeliveryCallback<TState>.Rent(onDelivery, state);
        try
        {
            ProduceBlocking(topic, key, value, RecordNulls.None, default, -1, NowMs(), callback, null);
        }
        catch
        {
            callback.Abandon();
            throw;
        }
    }

    /// <summary>
    /// Produces a record described over spans without waiting for it, reporting the outcome to
    /// <paramref name="onDelivery"/> with state of any type (not boxed).
    /// </summary>
    /// <typeparam name="TState">The state's type.</typeparam>
    /// <param name="topic">The topic.</param>
    /// <param name="record">The record; its bytes are copied before the call returns.</param>
    /// <param name="state">Passed to <paramref name="onDelivery"/> (first, as in <c>string.Create</c>: a lambda in its place would make the call ambiguous with the object-state overload).</param>
    /// <param name="onDelivery">Told the outcome.</param>
    /// <exception cref="ProduceException">The record could not be buffered; the handler is not called.</exception>
    /// <exception cref="ObjectDisposedException">The producer was disposed.</exception>
    public void Produce<TState>(string topic, in ProducerRecord record, TState state, DeliveryHandler<TState> onDelivery)
    {
        ArgumentNullException.ThrowIfNull(topic);
        ArgumentNullException.ThrowIfNull(onDelivery);
        var callback = DeliveryCallback<TState>.Rent(onDelivery, state);
        try
        {
            ProduceBlocking(topic, record.Key, record.Value, record.Nulls, record.Headers, record.Partition ?? -1,
                record.Timestamp?.UnixTimeMilliseconds ?? NowMs(), callback, null);
        }
        catch
        {
            callback.Abandon();
            throw;
        }
    }

    /// <summary>
    /// Produces a record only if it can be buffered at once — the topic's metadata is known, the open batch or the buffer
    /// pool has room, and no record produced earlier waits for either — reporting the outcome to
    /// <paramref name="onDelivery"/> as <see cref="Produce{TState}(string, in ProducerRecord, TState, DeliveryHandler{TState})"/>
    /// does. Never blocks: where <c>Produce</c> would wait for metadata or memory, this returns false, the record is not
    /// taken and the handler is not called (fall back to <c>ProduceAsync</c>, which waits without blocking a thread).
    /// </summary>
    /// <typeparam name="TState">The state's type.</typeparam>
    /// <param name="topic">The topic.</param>
    /// <param name="record">The record; its bytes are copied before the call returns true.</param>
    /// <param name="state">Passed to <paramref name="onDelivery"/>.</param>
    /// <param name="onDelivery">Told the outcome.</param>
    /// <returns>True when the record was buffered (the handler will be told its outcome); false when it would have had to wait.</returns>
    /// <exception cref="ProduceException">The record can never be buffered (too large, say); the handler is not called.</exception>
    /// <exception cref="ObjectDisposedException">The producer was disposed.</exception>
    public bool TryProduce<TState>(string topic, in ProducerRecord record, TState state, DeliveryHandler<TState> onDelivery)
    {
        ArgumentNullException.ThrowIfNull(topic);
        ArgumentNullException.ThrowIfNull(onDelivery);
        var callback = DeliveryCallback<TState>.Rent(onDelivery, state);
        bool buffered;
        try
        {
            buffered = ProduceOnCallingThread(topic, record.Key, record.Value, record.Nulls, record.Headers, record.Partition ?? -1,
                record.Timestamp?.UnixTimeMilliseconds ?? NowMs(), callback, null, waitForRoom: false);
        }
        catch
        {
            callback.Abandon();
            throw;
        }

        if (!buffered)
        {
            callback.Abandon();
        }

        return buffered;
    }

    /// <summary>
    /// Starts the record's <c>send</c> span and adds its context to <paramref name="headers"/> (unless they carry one).
    /// The caller's current activity is restored at once: the span ends with the delivery, not with this call.
    /// </summary>
    private Activity? StartSend(string topic, ref IReadOnlyList<RecordHeader>? headers)
    {
        var caller = Activity.Current;
        var activity = KafkaActivities.StartSend(topic, _clientId);
        if (activity is null)
        {
            return null;
        }

        Activity.Current = caller;
        headers = KafkaTraceContext.Inject(headers, activity);
        return activity;
    }

    private static async ValueTask<DeliveryResult> TraceDeliveryAsync(ValueTask<DeliveryResult> pending, Activity activity)
    {
        try
        {
            var delivered = await pending.ConfigureAwait(false);
            KafkaActivities.Delivered(activity, delivered.Partition, delivered.Offset);
            return delivered;
        }
        catch (Exception ex)
        {
            KafkaActivities.Failed(activity, ex);
            throw;
        }
        finally
        {
            activity.Dispose();
        }
    }

    private static ReadOnlySpan<RecordHeader> ToSpan(IReadOnlyList<RecordHeader> headers) =>
        headers is RecordHeader[] array ? array : headers is List<RecordHeader> list ? System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list) : headers.ToArray();

    /// <summary>Sends every buffered record without lingering and completes when each is delivered or failed.</summary>
    /// <param name="cancellationToken">Stops waiting (sending goes on).</param>
    /// <exception cref="ObjectDisposedException">The producer was disposed.</exception>
    public Task FlushAsync(CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return Task.FromException(Disposed());
        }

        return _core.FlushAsync(_lane, cancellationToken);
    }

    /// <summary>
    /// Stops taking records, delivers what is buffered within <see cref="KafkaProducerOptions.CloseTimeout"/>, fails
    /// the rest with <see cref="ProduceErrorKind.Disposed"/>, and closes. Idempotent.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _core.CloseAsync(_lane, _settings.CloseTimeout).ConfigureAwait(false);
        _lane.Dispose();
        _core.Dispose();
    }

    /// <summary>
    /// <see cref="ProduceAsync(string, ReadOnlyMemory{byte}?, ReadOnlyMemory{byte}?, IReadOnlyList{RecordHeader}?, int?, Timestamp?, CancellationToken)"/> over spans the caller reuses as soon as this returns (the typed producer's
    /// serialization buffers): the fast path copies them into the batch; a path that must wait copies them into
    /// pooled arrays first.
    /// </summary>
    internal ValueTask<DeliveryResult> ProduceSpansAsync(string topic, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, RecordNulls nulls,
        IReadOnlyList<RecordHeader>? headers, int partition, long timestampMs, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return ValueTask.FromException<DeliveryResult>(Disposed());
        }

        if (KafkaActivities.IsEnabled && StartSend(topic, ref headers) is { } activity)
        {
            return TraceDeliveryAsync(ProduceSpansUntraced(topic, key, value, nulls, headers, partition, timestampMs, cancellationToken), activity);
        }

        return ProduceSpansUntraced(topic, key, value, nulls, headers, partition, timestampMs, cancellationToken);
    }

    private ValueTask<DeliveryResult> ProduceSpansUntraced(string topic, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, RecordNulls nulls,
        IReadOnlyList<RecordHeader>? headers, int partition, long timestampMs, CancellationToken cancellationToken)
    {

        var promise = DeliveryPromise.Rent();
        var result = promise.AsValueTask();
        try
        {
            if (!_lane.HasWaiting(topic) && TryAppendOwned(topic, key, value, nulls, headers, partition, timestampMs, promise, 0, out _) == Outcome.Appended)
            {
                promise.RegisterCancellation(cancellationToken);
                return result;
            }

            EnqueueCopy(topic, key, value, nulls, headers, partition, timestampMs, promise, cancellationToken);
            return result;
        }
        catch (Exception ex)
        {
            promise.Abandon();
            return ValueTask.FromException<DeliveryResult>(ex);
        }
    }

    /// <summary>
    /// Queues a record that must wait (for metadata, memory, or records of its topic waiting already) in the lane,
    /// with pooled copies of its key and value: the caller may reuse its bytes as soon as the call returns — and must
    /// be able to once its wait is cancelled, which completes its task while the record may still be on its way into
    /// a batch (a wait that ended just before the cancellation goes on to append).
    /// </summary>
    private void EnqueueCopy(string topic, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, RecordNulls nulls, IReadOnlyList<RecordHeader>? headers,
        int partition, long timestampMs, DeliveryPromise promise, CancellationToken cancellationToken)
    {
        var keyCopy = ArrayPool<byte>.Shared.Rent(key.Length);
        var valueCopy = ArrayPool<byte>.Shared.Rent(value.Length);
        key.CopyTo(keyCopy);
        value.CopyTo(valueCopy);
        _lane.Enqueue(new ProduceLane.Entry(topic, keyCopy.AsMemory(0, key.Length), valueCopy.AsMemory(0, value.Length), nulls, headers, partition, timestampMs, promise, cancellationToken)
        {
            RentedKey = keyCopy,
            RentedValue = valueCopy,
        });
        promise.RegisterCancellation(cancellationToken);
    }

    /// <summary>Appends on the calling thread, blocking for metadata or memory when needed (the synchronous <c>Produce</c> path).</summary>
    /// <remarks><paramref name="onDelivery"/> is a <see cref="DeliveryHandler"/> (with <paramref name="state"/>), a <see cref="DeliveryCallback"/>, or null.</remarks>
    internal void ProduceBlocking(string topic, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, RecordNulls nulls,
        ReadOnlySpan<RecordHeader> headers, int partition, long timestampMs, object? onDelivery, object? state) =>
        ProduceOnCallingThread(topic, key, value, nulls, headers, partition, timestampMs, onDelivery, state, waitForRoom: true);

    /// <summary>
    /// Appends on the calling thread. <paramref name="waitForRoom"/>: block for metadata or memory when needed (true
    /// always appends or throws); otherwise false when the record would have to wait (the <c>TryProduce</c> path).
    /// </summary>
    private bool ProduceOnCallingThread(string topic, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, RecordNulls nulls,
        ReadOnlySpan<RecordHeader> headers, int partition, long timestampMs, object? onDelivery, object? state, bool waitForRoom)
    {
        ThrowIfDisposed();
        if (!KafkaActivities.IsEnabled)
        {
            return ProduceUntracedOnCallingThread(topic, key, value, nulls, headers, partition, timestampMs, onDelivery, state, waitForRoom);
        }

        // Traced: the span covers buffering the record (the call's own work); its context travels in the headers.
        IReadOnlyList<RecordHeader>? traced = headers.IsEmpty ? null : headers.ToArray();
        using var activity = StartSend(topic, ref traced);
        try
        {
            var buffered = ProduceUntracedOnCallingThread(topic, key, value, nulls, traced is null ? headers : ToSpan(traced), partition, timestampMs, onDelivery, state, waitForRoom);
            if (!buffered && activity is not null)
            {
                // Not taken: the caller produces it again another way, under a span of its own; exporters skip unrecorded spans.
                activity.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
            }

            return buffered;
        }
        catch (Exception ex) when (activity is not null)
        {
            KafkaActivities.Failed(activity, ex);
            throw;
        }
    }

    private bool ProduceUntracedOnCallingThread(string topic, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, RecordNulls nulls,
        ReadOnlySpan<RecordHeader> headers, int partition, long timestampMs, object? onDelivery, object? state, bool waitForRoom)
    {
        if (!waitForRoom && _lane.HasWaiting(topic))
        {
            return false; // records of the topic produced earlier through ProduceAsync wait for metadata or memory: this one would overtake them
        }

        // The call's waits — behind the lane, for metadata, for memory, one after the other — share one max.block.ms
        // (AppendWaitLimit) counted from the first of them, as the Java client's send() does; the record's delivery
        // timeout counts from there too. Each wait used to get the whole limit again, so a call could block for two or
        // three times max.block.ms.
        var waitStart = 0L; // when the call started waiting; 0 while it has not
        if (_lane.HasWaiting(topic))
        {
            waitStart = _settings.Clock.Now;
            if (!_lane.WaitUntilNoneWaiting(topic, _settings.AppendWaitLimit))
            {
                // Records of the topic produced earlier through ProduceAsync still wait for metadata or memory; this one
                // would overtake them.
                throw WaitError(topic, partition, topic);
            }
        }

        // Appended as it is produced: 0; once the call has waited (behind the lane, or below), its deadline from the call.
        var callDeadline = waitStart == 0 ? 0 : Clock.Add(waitStart, _settings.DeliveryTimeoutTicks);
        while (true)
        {
            var outcome = TryAppend(topic, key, value, nulls, headers, partition, timestampMs, onDelivery, state, callDeadline, out var slow);
            if (outcome == Outcome.Appended)
            {
                return true;
            }

            if (!waitForRoom)
            {
                return false;
            }

            if (waitStart == 0)
            {
                waitStart = _settings.Clock.Now;
            }

            callDeadline = Clock.Add(waitStart, _settings.DeliveryTimeoutTicks);
            var waitLimit = _settings.Clock.Until(_settings.Clock.After(waitStart, _settings.AppendWaitLimit));
            if (waitLimit < TimeSpan.Zero)
            {
                waitLimit = TimeSpan.Zero; // spent: one last look (metadata asked once, memory taken only if free now)
            }

            if (outcome == Outcome.NeedsMetadata)
            {
                // The Java client blocks send() the same way, for at most max.block.ms.
                _topics.EnsureTopicAsync(topic, waitLimit, CancellationToken.None).AsTask().GetAwaiter().GetResult();
                continue;
            }

            if (outcome == Outcome.NeedsPartition)
            {
                _topics.EnsurePartitionAsync(topic, partition, waitLimit, CancellationToken.None).AsTask().GetAwaiter().GetResult();
                continue;
            }

            _senders.WakeAll();
            var buffer = _pool.Rent(slow.MinimumSize, slow.PreferredSize, waitLimit, slow.Partition) ?? throw NoMemory(topic, slow);
            if (!_accumulator.AppendWithBuffer(slow.Partition!, buffer, timestampMs, key, value, headers, nulls, onDelivery, state, slow.RecordSize, callDeadline, out var wake))
            {
                continue; // the topic was dropped as idle meanwhile: place the record as the topic's first
            }

            wake.Notify();
            return true;
        }
    }

    /// <summary>Copies <paramref name="headers"/> into a span (no copy for arrays and lists); returns a rented array to give back, if one was needed.</summary>
    internal static RecordHeader[]? HeaderSpan(IReadOnlyList<RecordHeader>? headers, out ReadOnlySpan<RecordHeader> span)
    {
        switch (headers)
        {
            case null:
                span = default;
                return null;
            case RecordHeader[] array:
                span = array;
                return null;
            case List<RecordHeader> list:
                span = CollectionsMarshal.AsSpan(list);
                return null;
            default:
                var rented = ArrayPool<RecordHeader>.Shared.Rent(headers.Count);
                for (var i = 0; i < headers.Count; i++)
                {
                    rented[i] = headers[i];
                }

                span = rented.AsSpan(0, headers.Count);
                return rented;
        }
    }

    /// <summary>An explicit partition, checked: a partition number is not negative (null lets the partitioner choose).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="partition"/> is negative.</exception>
    internal static int? CheckPartition(int? partition, string name) =>
        partition is < 0
            ? throw new ArgumentOutOfRangeException(name, partition, "A partition number is not negative; null lets the partitioner choose.")
            : partition;

    internal static void ReturnHeaders(RecordHeader[]? rented)
    {
        if (rented is not null)
        {
            ArrayPool<RecordHeader>.Shared.Return(rented, clearArray: true);
        }
    }

    /// <summary>Whether the lane parks the topic's records to wait for its metadata: not once the metadata refuses it (their append then fails at once).</summary>
    private bool NeedsMetadata(string topic) => !_accumulator.GetOrAddTopic(topic).HasMetadata && !TopicMetadataWaiter.RefusesTopic(_topics.LastMetadataError(topic));

    private async ValueTask WaitForMetadataAsync(string topic, TimeSpan wait, CancellationToken cancellationToken) =>
        await _topics.EnsureTopicAsync(topic, wait, cancellationToken).ConfigureAwait(false);

    internal static long NowMs() => (DateTime.UtcNow.Ticks - UnixEpochTicks) / TimeSpan.TicksPerMillisecond;

    /// <summary>
    /// The error for a record (<paramref name="topic"/>, <paramref name="partition"/>) whose wait ran out while the
    /// record at the head of the lane (<paramref name="waitedFor"/>'s topic) still waited: for that topic's metadata,
    /// or for memory. A blocking call may not overtake records produced before it, so it shares their reason.
    /// </summary>
    private ProduceException WaitError(string topic, int partition, string waitedFor) =>
        _accumulator.GetOrAddTopic(waitedFor).HasMetadata
            ? ProducerErrors.BufferExhausted(topic, partition, _settings.BufferMemory, _settings.AppendWaitLimit)
            : ProducerErrors.MetadataTimeout(waitedFor, _settings.AppendWaitLimit, _topics.LastMetadataError(waitedFor), null);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ThrowIfDisposed()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            throw Disposed();
        }
    }

    private static ObjectDisposedException Disposed() => new(nameof(KafkaProducer), "The producer has been disposed.");

    /// <summary>What an append has to wait for.</summary>
    internal enum Outcome
    {
        Appended,
        NeedsMetadata,

        /// <summary>The record names a partition beyond those its topic's metadata lists: fresh metadata decides.</summary>
        NeedsPartition,
        NeedsMemory,
    }

    /// <summary>Where an append that needs memory goes, and how much it needs.</summary>
    internal readonly record struct SlowPath(PartitionState? Partition, int PreferredSize, int RecordSize)
    {
        /// <summary>The least a new batch for the record needs.</summary>
        public int MinimumSize => RecordAccumulator.MinimumBufferSize(RecordSize);
    }
}
