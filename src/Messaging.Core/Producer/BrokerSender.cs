using System.Diagnostics;
using Messaging.Cluster;
using Messaging.Connection;
using Messaging.Errors;
using Messaging.Protocol;
using Messaging.Threading;

namespace Messaging.Producer;

/// <summary>
/// The produce pipeline of one broker (franz-go's "sink"): one loop drains every partition the broker leads into
/// Produce requests — one batch per partition, as many partitions as fit <c>max.request.size</c> — and keeps up to
/// <c>max.in.flight.requests.per.connection</c> of them in flight; a second loop takes the responses in the order
/// they were sent and settles each batch: delivered, retried, or failed.
/// </summary>
/// <remarks>
/// <para>Ordering: the sender uses its own connection to the broker (the producer's dedicated pool, so no
/// metadata request takes an in-flight slot), never has more requests outstanding than the connection admits, and
/// issues them from one loop, so they reach the socket in the order they were drained. A partition is drained by
/// one sender at a time (<see cref="PartitionState.InFlightSender"/>).</para>
/// <para>Wake-ups: an append that starts a batch or fills one, a response, a flush, memory pressure, a leader
/// change and the producer id arriving each <see cref="Wake"/> the loop; between them it sleeps until the next
/// linger or retry deadline.</para>
/// </remarks>
internal sealed class BrokerSender : IAsyncDisposable
{
    /// <summary>While stopping, how often the response loop looks whether the last request was answered.</summary>
    private static readonly TimeSpan StoppingPoll = TimeSpan.FromMilliseconds(100);

    private readonly ProducerSettings _settings;
    private readonly BrokerConnections _connections;
    private readonly RecordAccumulator _accumulator;
    private readonly IdempotenceState? _idempotence;
    private readonly ProducerIdRequester _producerId;
    private readonly MetadataRefresher _metadata;
    private readonly ProtocolLimits _limits;
    private readonly ProducerLog _log;
    private readonly AsyncSignal _wake;
    private readonly AsyncSignal _responsesReady;
    private readonly Clock _clock;
    private readonly Queue<ProduceRequestSet> _outstanding = new();
    private readonly Stack<ProduceRequestSet> _spareSets = new();
    private readonly Lock _outstandingLock = new();

    /// <summary>Orders <see cref="Start"/> against <see cref="DisposeAsync"/>: a sender is started before it is disposed, or never.</summary>
    private readonly Lock _lifecycleLock = new();

    /// <summary>
    /// Held while a response is settled (until its set leaves <see cref="_outstanding"/>) and while housekeeping
    /// expires in-flight batches: settling releases batches to their pool, so without it an expiry could fail a batch
    /// object that was already recycled for other records. Taken once per response, never per record.
    /// </summary>
    private readonly Lock _settleLock = new();
    private readonly ContiguousBufferWriter _scratch = new(64 * 1024);
    private readonly CancellationTokenSource _stop = new();
    private PartitionState[] _partitions = [];
    private Task _sendLoop = Task.CompletedTask;
    private Task _responseLoop = Task.CompletedTask;
    private int _drainIndex;
    private int _inFlight;
    private bool _stopping;

    /// <param name="nodeId">The broker.</param>
    /// <param name="settings">The producer's settings.</param>
    /// <param name="connections">The producer's own connections, one per broker.</param>
    /// <param name="accumulator">Where batches are drained from and released to.</param>
    /// <param name="idempotence">The sequence bookkeeping (used only when the producer is idempotent).</param>
    /// <param name="producerId">Says whether batches may be sent yet (the idempotent producer needs its id).</param>
    /// <param name="metadata">Asked for a refresh when a response says the metadata is stale.</param>
    /// <param name="limits">Bounds for decoding responses.</param>
    /// <param name="log">Where retries, epoch bumps and connection trouble are logged.</param>
    public BrokerSender(int nodeId, ProducerSettings settings, BrokerConnections connections, RecordAccumulator accumulator, IdempotenceState idempotence,
        ProducerIdRequester producerId, MetadataRefresher metadata, ProtocolLimits limits, ProducerLog log)
    {
        NodeId = nodeId;
        _settings = settings;
        _connections = connections;
        _accumulator = accumulator;
        _idempotence = settings.Idempotent ? idempotence : null;
        _producerId = producerId;
        _metadata = metadata;
        _limits = limits;
        _log = log;
        _clock = settings.Clock;
        _wake = new AsyncSignal(_clock);
        _responsesReady = new AsyncSignal(_clock);
    }

    public int NodeId { get; }

    /// <summary>Produce requests sent and not yet answered.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>The partitions this broker leads, as last assigned.</summary>
    public PartitionState[] Partitions => Volatile.Read(ref _partitions);

    /// <summary>
    /// Starts the loops, unless disposing began: the routing starts a new sender outside its lock, so closing may have
    /// disposed it first (its loops would run on disposed parts, fault, and never be awaited).
    /// </summary>
    public void Start()
    {
        lock (_lifecycleLock)
        {
            if (_stopping)
            {
                return;
            }

            _sendLoop = SendLoopAsync();
            _responseLoop = ResponseLoopAsync();
        }
    }

    /// <summary>Replaces the partitions this sender drains (after a metadata change).</summary>
    public void SetPartitions(PartitionState[] partitions)
    {
        Volatile.Write(ref _partitions, partitions);
        Wake();
    }

    /// <summary>Makes the send loop look again.</summary>
    public void Wake() => _wake.Set();

    /// <summary>
    /// A partition of this sender opened a batch that is ready at <paramref name="readyAtTicks"/> (its linger) unless
    /// the broker is idle. With nothing in flight (and send-when-idle on) the loop looks now; otherwise it need not wake
    /// before the batch's linger — the response in flight wakes it first, on the response loop's thread — so the
    /// append only makes sure its wait ends by then, instead of waking it to find the batch not ready yet.
    /// </summary>
    public void WakeForBatch(long readyAtTicks)
    {
        // Store-load order against the response loop, which decrements _inFlight and then drains: the batch was
        // published (partition lock released) before this read, so either that drain sees the batch or this read sees
        // nothing in flight.
        Interlocked.MemoryBarrier();
        if (_settings.SendWhenIdle && Volatile.Read(ref _inFlight) == 0)
        {
            _wake.Set();
            return;
        }

        _wake.WakeBy(readyAtTicks);
    }

    /// <summary>Stops after the requests in flight are answered (or their connection fails).</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_lifecycleLock)
        {
            _stopping = true; // from here Start does nothing; loops it started before are awaited below
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await BackgroundLoop.StoppedAsync(_sendLoop).ConfigureAwait(false);

        _responsesReady.Set();
        await _responseLoop.ConfigureAwait(false);
        _wake.Dispose();
        _responsesReady.Dispose();
        _scratch.Dispose();
        _stop.Dispose();
    }

    private async Task SendLoopAsync()
    {
        await Task.Yield();
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            var now = _clock.Now;
            var wakeAt = long.MaxValue;

            // A sender whose broker leads nothing (it left the metadata, or lost its partitions) neither connects nor
            // polls: it sleeps until a metadata change hands it partitions again.
            if (Partitions.Length > 0 && Volatile.Read(ref _inFlight) < _settings.MaxInFlight && _producerId.ReadyToSend())
            {
                BrokerConnection? connection = null;
                try
                {
                    connection = await _connections.GetAsync(NodeId, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    break;
                }
#pragma warning disable CA1031 // Whatever connecting threw (a plugged-in transport may throw anything), this loop must go on: it is the only one that sends this broker's batches.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    // Down or backing off: batches wait (and expire on their own); try again shortly. The leader may have
                    // moved meanwhile (a crashed broker stays listed as leader until its session times out, and a broker
                    // we never reached raises no disconnect): ask for metadata each time, as the Java client does after
                    // a failed connect; the refresher coalesces these and spaces them (100 ms growing to 1 s).
                    _log.SenderCannotConnect(NodeId, ex.Message);
                    _metadata.RequestRefresh();
                    wakeAt = _clock.After(now, _settings.ReconnectBackoff);
                }

                var mutedUntil = connection?.MutedUntil ?? 0;
                if (now < mutedUntil)
                {
                    // KIP-219: the broker throttled us and muted the connection; a request sent now would only wait
                    // in it. Batches keep filling meanwhile, and go out together once the mute has passed.
                    wakeAt = mutedUntil;
                }
                else if (connection is not null)
                {
                    var set = Drain(now, ref wakeAt);
                    if (set is not null)
                    {
                        Send(connection, set);
                        continue; // more may be ready
                    }
                }
            }

            await _wake.WaitAsync(wakeAt, token).ConfigureAwait(false);
        }
    }

    /// <summary>Takes one ready batch from each partition, round-robin from where the last drain stopped, until the request is full.</summary>
    private ProduceRequestSet? Drain(long now, ref long wakeAt)
    {
        var partitions = Partitions;
        if (partitions.Length == 0)
        {
            return null;
        }

        ProduceRequestSet? set = null;
        var idempotence = _idempotence;

        // Nothing in flight to this broker: open batches need not wait for linger (SendWhenIdle). What arrives while
        // this request is out forms the next batches, sent when it is answered or when their linger passes.
        var idle = Volatile.Read(ref _inFlight) == 0;
        var start = _drainIndex % partitions.Length;
        var i = start;
        do
        {
            var partition = partitions[i];
            i = (i + 1) % partitions.Length;
            ProducerBatch? taken = null;
            var full = false;
            lock (partition.Sync)
            {
                if (!ReferenceEquals(partition.Sender, this) || (partition.InFlight > 0 && !ReferenceEquals(partition.InFlightSender, this)))
                {
                    continue; // moved, or still in flight to its previous leader
                }

                var first = partition.Queue.PeekFirst();
                var fromOpen = false;
                if (first is null)
                {
                    var open = partition.Open;
                    if (open is null || !_accumulator.IsOpenBatchReady(open, now, idle, ref wakeAt))
                    {
                        continue;
                    }

                    first = open;
                    fromOpen = true;
                }

                if (first.RetryAtTicks > now)
                {
                    wakeAt = Math.Min(wakeAt, first.RetryAtTicks);
                    continue;
                }

                if (idempotence is not null && !idempotence.CanDrain(partition, first))
                {
                    continue;
                }

                if (set is not null && set.EstimatedSize + first.Length > _settings.MaxRequestSize)
                {
                    full = true; // the next request starts here
                }
                else
                {
                    if (fromOpen)
                    {
                        // Taken before it filled (linger, flush): let the next batch's starting size shrink only slowly.
                        partition.Open = null;
                        partition.LastBufferSize = Math.Max(first.Length, partition.LastBufferSize / 2);
                    }
                    else
                    {
                        partition.Queue.RemoveFirst();
                    }

                    if (idempotence is not null && !first.HasSequence)
                    {
                        idempotence.AssignSequence(partition, first);
                    }

                    partition.InFlight++;
                    partition.InFlightSender = this;
                    first.Attempts++;
                    taken = first;
                }
            }

            if (full)
            {
                i = (i - 1 + partitions.Length) % partitions.Length;
                break;
            }

            if (taken is not null)
            {
                // Outside the lock: the batch is this sender's now.
                set ??= RentSet();
                var sizeBefore = set.EstimatedSize;
                set.Add(partition, taken);
                try
                {
                    taken.Seal(_settings.Compression, _settings.CompressionLevel, _scratch);
                    taken.Stamp();
                }
#pragma warning disable CA1031 // Whatever compressing threw (a codec failure, no memory for the scratch buffer), this loop must go on: it is the only one that sends this broker's batches.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    set.RemoveLast(sizeBefore);
                    FailUnsent(partition, taken, ex);
                }
            }
        }
        while (i != start);

        _drainIndex = i;
        if (set is { Count: 0 })
        {
            ReturnSet(set); // every batch taken failed before it could go out
            return null;
        }

        return set;
    }

    /// <summary>
    /// A batch taken for a request failed before it went out (compressing it threw): its records fail now, with the
    /// cause, and the batch is released (its pooled buffer back to the pool) instead of waiting for a response that
    /// never comes. Its sequence numbers (idempotence) were never sent: the partition renumbers under a new epoch, as
    /// after a batch the broker rejected.
    /// </summary>
    private void FailUnsent(PartitionState partition, ProducerBatch batch, Exception cause)
    {
        var idempotence = _idempotence;
        var bumpsBefore = idempotence?.EpochBumps ?? 0;
        BrokerSender? moved;
        lock (partition.Sync)
        {
            moved = LeaveInFlight(partition);
            idempotence?.OnFailed(partition, batch, ErrorCode.None, rejectedByBroker: true);
        }

        if (idempotence is not null && idempotence.EpochBumps != bumpsBefore)
        {
            _log.EpochBumped(idempotence.Current.Epoch, partition.Topic.Name, partition.Partition);
        }

        batch.LastError = cause;
        batch.Fail(ProducerErrors.NotSent(partition.TopicPartition, cause), _log);
        _accumulator.Release(batch);
        moved?.Wake();
    }

#pragma warning disable CA2012 // The pending ValueTask is parked in the set and awaited exactly once, by the response loop.
    private void Send(BrokerConnection connection, ProduceRequestSet set)
    {
        set.Sort();
        set.Connection = connection;
        Interlocked.Increment(ref _inFlight);
        try
        {
            var version = connection.ApiVersions.VersionFor(ApiKey.Produce);
            set.Version = version;
            var writer = new ProduceRequestWriter(set, _settings.Acks, (int)Math.Min(_settings.RequestTimeout.TotalMilliseconds, int.MaxValue));
            if (_settings.Acks == Acks.None)
            {
                set.ExpectsResponse = false;
                set.Written = connection.SendWithoutResponseAsync(writer, version, set.EncodedSizeHint);
            }
            else
            {
                set.ExpectsResponse = true;
                set.Response = connection.SendAsync(writer, version, _settings.RequestTimeout, set.EncodedSizeHint);
            }
        }
        catch (Exception ex)
        {
            set.ExpectsResponse = false;
            set.Written = ValueTask.FromException(ex);
        }

        lock (_outstandingLock)
        {
            _outstanding.Enqueue(set);
        }

        // An idle response loop runs here up to its await of this set's response (holding no lock of ours); a busy
        // one finds the signal set when it next looks.
        _responsesReady.SetInline();
    }
#pragma warning restore CA2012

    private async Task ResponseLoopAsync()
    {
        await Task.Yield();
        while (true)
        {
            // The set stays in the queue while its response is awaited, so housekeeping can expire its batches
            // (ExpireInFlight); it leaves the queue once settled.
            ProduceRequestSet? set;
            lock (_outstandingLock)
            {
                _outstanding.TryPeek(out set);
            }

            if (set is null)
            {
                if (_stopping && Volatile.Read(ref _inFlight) == 0)
                {
                    return;
                }

                await _responsesReady.WaitAsync(_stopping ? _clock.After(StoppingPoll) : long.MaxValue, CancellationToken.None).ConfigureAwait(false);
                continue;
            }

            Exception? failure = null;
            ResponseFrame frame = default;
            try
            {
                if (set.ExpectsResponse)
                {
                    frame = await set.Response.ConfigureAwait(false);
                    int throttleMs;
                    try
                    {
                        throttleMs = ProduceResponseReader.Read(frame, set.Version, _limits, set);
                    }
                    catch (KafkaProtocolException ex)
                    {
                        // It says nothing of the batches (the broker may have written them): they are retried, on a new
                        // connection, as after any other response that does not decode.
                        var error = KafkaExceptions.UndecodableResponse(ApiKey.Produce, set.Version, set.Connection!.Name, ex);
                        set.Connection.CloseBecause(error);
                        throw error;
                    }

                    set.Connection!.ReportThrottle(ApiKey.Produce, throttleMs);
                }
                else
                {
                    await set.Written.ConfigureAwait(false);
                }
            }
            catch (Exception ex)
            {
                failure = ex;
            }
            finally
            {
                frame.Dispose();
                set.Response = default;
                set.Written = default;
            }

            try
            {
                lock (_settleLock)
                {
                    try
                    {
                        Settle(set, failure);
                    }
                    finally
                    {
                        lock (_outstandingLock)
                        {
                            _outstanding.Dequeue();
                        }
                    }
                }
            }
            finally
            {
                ReturnSet(set);
                Interlocked.Decrement(ref _inFlight);

                // The send loop drains what gathered while this request was out and sends it from here, before this
                // loop turns to the next response: no hand-off between a response and the request it frees.
                _wake.SetInline();
            }
        }
    }

    /// <summary>
    /// Reports the batches in flight whose delivery timeout has passed as timed out now, rather than when their
    /// response or the request timeout comes (which can be up to request.timeout.ms later). The batch stays in its
    /// request: the response, when it comes, settles the partition's bookkeeping (idempotent sequences included)
    /// and releases it, and reports nothing more.
    /// </summary>
    public void ExpireInFlight(long now, List<ProducerBatch> expired)
    {
        expired.Clear();
        lock (_settleLock)
        {
            lock (_outstandingLock)
            {
                foreach (var set in _outstanding)
                {
                    for (var i = 0; i < set.Count; i++)
                    {
                        var batch = set[i].Batch;
                        if (batch.DeadlineTicks <= now && !batch.IsReported)
                        {
                            expired.Add(batch);
                        }
                    }
                }
            }

            foreach (var batch in expired)
            {
                batch.Fail(ProducerErrors.DeliveryTimeout(batch.Partition.TopicPartition, batch, _settings), _log);
                batch.MarkDone(); // flush waiters need not wait for the late response
            }
        }
    }

    /// <summary>Settles every batch of an answered (or failed) request.</summary>
    private void Settle(ProduceRequestSet set, Exception? failure)
    {
        var now = _clock.Now;
        var refresh = false;
        for (var i = 0; i < set.Count; i++)
        {
            ref var entry = ref set[i];
            if (failure is not null)
            {
                refresh |= SettleBatch(entry.Partition, entry.Batch, ErrorCode.None, failure, -1, -1, -1, null, now);
            }
            else if (!set.ExpectsResponse)
            {
                refresh |= SettleBatch(entry.Partition, entry.Batch, ErrorCode.None, null, -1, -1, -1, null, now);
            }
            else if (!entry.Answered)
            {
                var missing = new KafkaProtocolException("ProduceResponse", "Responses", 0, set.Broker + " did not answer for " + entry.Partition.TopicPartition + ".");
                refresh |= SettleBatch(entry.Partition, entry.Batch, ErrorCode.None, new KafkaConnectionException(missing.Message, set.Broker, missing), -1, -1, -1, null, now);
            }
            else
            {
                refresh |= SettleBatch(entry.Partition, entry.Batch, entry.Code, null, entry.BaseOffset, entry.LogAppendTimeMs, entry.LogStartOffset, entry.ErrorMessage, now);
            }
        }

        if (refresh)
        {
            _metadata.RequestRefresh();
        }
    }

    /// <summary>Delivers, retries or fails one batch. Returns whether metadata should be refreshed.</summary>
    private bool SettleBatch(PartitionState partition, ProducerBatch batch, ErrorCode code, Exception? transport,
        long baseOffset, long logAppendTimeMs, long logStartOffset, string? brokerMessage, long now)
    {
        var idempotence = _idempotence;
        BrokerSender? moved;
        if (transport is null && code is ErrorCode.None or ErrorCode.DuplicateSequenceNumber)
        {
            lock (partition.Sync)
            {
                moved = LeaveInFlight(partition);
                if (idempotence is not null)
                {
                    IdempotenceState.OnAcknowledged(partition, batch, baseOffset);
                }
            }

            batch.Complete(baseOffset, logAppendTimeMs, _log);
            _accumulator.Release(batch);
            moved?.Wake();
            return false;
        }

        if (transport is null && code is ErrorCode.MessageTooLarge or ErrorCode.RecordListTooLarge && batch.Count > 1 && !batch.IsReported
            && !_accumulator.IsClosed && TrySplit(partition, batch, code))
        {
            return false;
        }

        var stale = transport is not null || ClusterClient.MeansStaleMetadata(code);
        ProduceException? error = null;
        var bumpsBefore = idempotence?.EpochBumps ?? 0;
        lock (partition.Sync)
        {
            moved = LeaveInFlight(partition);
            bool retriable;
            if (transport is not null)
            {
                retriable = transport is KafkaException { IsRetriable: true };
            }
            else
            {
                retriable = idempotence is not null
                    ? idempotence.CanRetry(partition, batch, code, logStartOffset)
                    : ErrorCodes.IsRetriable(code);
            }

            batch.LastError = transport ?? new KafkaErrorException(code, ErrorText(partition, code, brokerMessage));
            batch.LastErrorCode = code;
            if (partition.Removed)
            {
                // The topic no longer has the partition: nothing drains it, so a retry would wait for ever.
                error = ProducerErrors.PartitionRemoved(partition.TopicPartition, partition.Topic.Partitions.Length);
            }
            else if (retriable && now < batch.DeadlineTicks && !batch.IsReported && !_accumulator.IsClosed)
            {
                batch.RetryAtTicks = Clock.Add(now, _settings.RetryBackoffTicks(batch.Attempts)); // a backoff of TimeSpan.MaxValue never comes round
                partition.Queue.InsertInSequenceOrder(batch);
            }
            else
            {
                // Retriable but out of time (or the producer is closing): its fate on the broker is unknown.
                var unknownFate = retriable || _accumulator.IsClosed;
                idempotence?.OnFailed(partition, batch, code, rejectedByBroker: !unknownFate && transport is null);
                error = _accumulator.IsClosed
                    ? ProducerErrors.Disposed(partition.TopicPartition, batch)
                    : retriable
                        ? ProducerErrors.DeliveryTimeout(partition.TopicPartition, batch, _settings)
                        : transport is not null
                            ? ProducerErrors.Transport(partition.TopicPartition, transport)
                            : ProducerErrors.Broker(partition.TopicPartition, code, brokerMessage);
            }
        }

        if (idempotence is not null && idempotence.EpochBumps != bumpsBefore)
        {
            _log.EpochBumped(idempotence.Current.Epoch, partition.Topic.Name, partition.Partition);
        }

        if (error is null)
        {
            _log.Retrying(batch.Count, partition.Topic.Name, partition.Partition, batch.Attempts, batch.LastError!.Message);
            Wake(); // a retry backoff deadline to sleep towards
        }
        else
        {
            batch.Fail(error, _log);
            _accumulator.Release(batch);
        }

        moved?.Wake();
        return stale;
    }

    /// <summary>
    /// A batch of several records the broker refused as too large (the topic's <c>max.message.bytes</c> is below what
    /// the producer batches) is split in two, and the halves go back at the front of the partition's queue, in order,
    /// to be sent again at once (the Java client's <c>splitAndReenqueue</c>); a half that is still too large is split
    /// again, until a single record that is too large on its own fails as too large. With idempotence the halves keep
    /// the refused batch's sequences (never written), so they go before every later batch. False if the batch could
    /// not be split (it then fails as refused).
    /// </summary>
    private bool TrySplit(PartitionState partition, ProducerBatch batch, ErrorCode code)
    {
        ProducerBatch first;
        ProducerBatch second;
        try
        {
            (first, second) = batch.SplitInHalves();
        }
#pragma warning disable CA1031 // Whatever splitting threw (no memory to decompress into), the batch fails as the broker refused it, as it did before splitting existed.
        catch (Exception)
#pragma warning restore CA1031
        {
            return false;
        }

        _accumulator.RegisterSplit(batch, first, second);
        BrokerSender? moved;
        bool removed;
        lock (partition.Sync)
        {
            moved = LeaveInFlight(partition);
            removed = partition.Removed;
            if (!removed)
            {
                if (_idempotence is not null)
                {
                    IdempotenceState.OnSplit(partition, batch, first, second);
                }

                partition.Queue.InsertInSequenceOrder(second);
                partition.Queue.InsertInSequenceOrder(first); // without sequences both go first: the first half ahead of the second
            }
        }

        _accumulator.ReleaseSplit(batch);
        if (removed)
        {
            // The topic lost the partition meanwhile: nothing would drain the halves.
            _accumulator.FailAsRemoved(partition, first);
            _accumulator.FailAsRemoved(partition, second);
        }
        else
        {
            _log.BatchSplit(batch.Count, partition.Topic.Name, partition.Partition, ErrorCodes.Name(code));
        }

        Wake();
        moved?.Wake();
        return true;
    }

    private static string ErrorText(PartitionState partition, ErrorCode code, string? brokerMessage) =>
        "Produce to " + partition.TopicPartition + " failed: " + ErrorCodes.Name(code) + (brokerMessage is null ? "" : " (" + brokerMessage + ")");

    /// <summary>One request of the partition is answered; returns its new sender to wake if it moved meanwhile. Under the partition's lock.</summary>
    private BrokerSender? LeaveInFlight(PartitionState partition)
    {
        partition.InFlight--;
        if (partition.InFlight > 0)
        {
            return null;
        }

        partition.InFlightSender = null;
        return ReferenceEquals(partition.Sender, this) ? null : partition.Sender;
    }

    private ProduceRequestSet RentSet()
    {
        lock (_outstandingLock)
        {
            return _spareSets.TryPop(out var set) ? set : new ProduceRequestSet();
        }
    }

    private void ReturnSet(ProduceRequestSet set)
    {
        set.Clear();
        lock (_outstandingLock)
        {
            _spareSets.Push(set);
        }
    }
}
