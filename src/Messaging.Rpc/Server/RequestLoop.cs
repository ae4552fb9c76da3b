namespace Messaging.Rpc;

/// <summary>
/// The server's consuming side: reads request batches from its group's partitions, admits each request under the
/// limits, hands it to the thread pool, and — as replies are acknowledged — commits each partition's contiguous
/// watermark. Also the group's rebalance listener: a revoked partition's answered requests are committed before it
/// goes, and its tracker is forgotten.
/// </summary>
/// <remarks>
/// <para><b>Back-pressure.</b> A request that may not start yet parks the rest of its batch and pauses its partition
/// (a full method or busy key), or stops the loop from taking more records at all (the server full). Finishing
/// requests wake the loop, which retries parked batches first, in the order they parked, and resumes their partitions
/// once drained. Nothing waits beyond one batch per partition.</para>
/// <para><b>Threads.</b> One loop thread consumes, admits, parks and registers offsets; requests finish on any thread
/// (lock-free: a flag in the tracker, counters, a wake-up); the group's thread runs the listener; commits — periodic,
/// on revocation, at shutdown — are serialized by one async lock, which also orders them with revocation so a
/// revoked partition is never committed again.</para>
/// </remarks>
internal sealed partial class RequestLoop : IRequestRunner, IConsumerRebalanceListener, IAsyncDisposable
{
    private static readonly TimeSpan ErrorBackoff = TimeSpan.FromMilliseconds(100);

    /// <summary>The longest period a timer takes.</summary>
    private static readonly TimeSpan MaxTimerPeriod = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    private readonly RpcServerOptions _options;
    private readonly KafkaConsumer _consumer;
    private readonly RequestReader _reader;
    private readonly RequestDispatcher _dispatcher;
    private readonly AdmissionControl _admission;
    private readonly ServerCounters _counters;
    private readonly TimeProvider _time;
    private readonly Lock _partitionsLock = new();
    private readonly Dictionary<TopicPartition, PartitionState> _partitions = [];
    private readonly List<ParkedBatch> _parked = [];
    private readonly System.Collections.Concurrent.ConcurrentQueue<ServerRequest> _pool = new();
    private readonly System.Collections.Concurrent.ConcurrentQueue<RequestRun> _runs = new();
    private readonly Action<RequestRun> _returnRun;
    private RequestRun? _run; // the run being filled, by this loop only
    private readonly SemaphoreSlim _commitLock = new(1, 1);
    private readonly List<TopicPartitionCommit> _commits = [];
    private readonly List<PartitionState> _commitStates = [];
    private readonly TopicPartition[] _one = new TopicPartition[1];
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _wake = NewSignal();
    private TaskCompletionSource? _drained;
    private int _shutDrained;
    private int _waiting;
    private long _finished;
    private Task<ConsumeBatch>? _pendingConsume;
    private Task _loop = Task.CompletedTask;
    private Task _committer = Task.CompletedTask;
    private readonly List<Task> _reseeks = []; // held partitions being moved in the background; this loop's only

    public RequestLoop(RpcServerOptions options, KafkaConsumer consumer, RequestReader reader, RequestDispatcher dispatcher, ServerCounters counters)
    {
        _options = options;
        _consumer = consumer;
        _reader = reader;
        _dispatcher = dispatcher;
        _counters = counters;
        _time = options.TimeProvider;
        _admission = new AdmissionControl(options.MaxConcurrentRequests, options.PreserveKeyOrder);
        _returnRun = _runs.Enqueue;
    }

    /// <summary>The loop and its committer have ended (or were never started).</summary>
    public bool HasEnded => _loop.IsCompleted && _committer.IsCompleted;

    /// <summary>Requests admitted and not finished.</summary>
    public int InFlight => _admission.InFlight;

    /// <summary>The partitions this server has now.</summary>
    public IReadOnlyCollection<TopicPartition> Assignment
    {
        get
        {
            lock (_partitionsLock)
            {
                return [.. _partitions.Keys];
            }
        }
    }

    public void Start()
    {
        _consumer.Subscribe(_options.RequestTopics, this);
        _loop = Task.Run(RunAsync, CancellationToken.None);
        _committer = Task.Run(CommitPeriodicallyAsync, CancellationToken.None);
    }

    /// <summary>Stops taking records (parked ones are given back unhandled; the group will hand them out again).</summary>
    public async Task StopFetchingAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        await _committer.ConfigureAwait(false);
        await Task.WhenAll(_reseeks).ConfigureAwait(false); // the loop has ended: nothing adds to the list; none throws
    }

    /// <summary>Waits until every admitted request finished, or <paramref name="timeout"/> passed; true when all finished.</summary>
    public async Task<bool> DrainAsync(TimeSpan timeout)
    {
        var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // Dekker with Wake: the signal is published with a full fence before the count is read, as the finishing side
        // decrements the count (Interlocked) before it reads the signal — at least one of the two sees the other. A
        // plain release store could be passed by the load below: this would read the last request still running, that
        // request's finish would read no signal, and the drain would wait its whole timeout with nothing running.
        Interlocked.Exchange(ref _drained, drained);
        try
        {
            if (_admission.InFlight == 0)
            {
                return true;
            }

            await FarDeadline.WaitAsync(drained.Task, timeout, _time, CancellationToken.None).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return _admission.InFlight == 0;
        }
        finally
        {
            // The shutdown has given running requests their time: the revocation that leaving the group brings must
            // not wait for them again (a handler that ignores its token is abandoned, as the shutdown promises).
            Volatile.Write(ref _shutDrained, 1);
        }
    }

    /// <summary>Commits every partition's watermark that moved since its last commit.</summary>
    public Task CommitAsync(CancellationToken cancellationToken)
    {
        lock (_partitionsLock)
        {
            _commitStates.Clear();
            _commitStates.AddRange(_partitions.Values);
        }

        return CommitStatesAsync(_commitStates, revoking: false, cancellationToken);
    }

    public ValueTask DisposeAsync()
    {
        _stop.Dispose();
        _commitLock.Dispose();
        while (_pool.TryDequeue(out _))
        {
        }

        lock (_partitionsLock)
        {
            _partitions.Clear();
        }

        return ValueTask.CompletedTask;
    }

    ValueTask IRequestRunner.ProcessAsync(ServerRequest request) => _dispatcher.ProcessAsync(request);

    void IRequestRunner.Finish(ServerRequest request) => Finish(request);

    public ValueTask OnPartitionsAssignedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken ct)
    {
        lock (_partitionsLock)
        {
            foreach (var partition in partitions)
            {
                if (!_partitions.ContainsKey(partition))
                {
                    _partitions[partition] = new PartitionState(partition);
                }
            }
        }

        return ValueTask.CompletedTask;
    }

    public async ValueTask OnPartitionsRevokedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken ct)
    {
        var revoked = Forget(partitions);
        if (revoked.Count == 0)
        {
            return;
        }

        // Let the revoked partitions' running requests finish (bounded), so the commit covers them and the next owner
        // repeats as little as possible — unless the server is shutting down: its drain has waited for them already.
        var drains = new Task[revoked.Count];
        for (var i = 0; i < drains.Length; i++)
        {
            drains[i] = revoked[i].RevokeAsync();
        }

        try
        {
            if (Volatile.Read(ref _shutDrained) == 0)
            {
                await FarDeadline.WaitAsync(Task.WhenAll(drains), _options.DrainTimeout, _time, ct).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            // Commit what is contiguous now; the rest will be handled again by the next owner.
        }

        await CommitStatesAsync(revoked, revoking: true, ct).ConfigureAwait(false);
    }

    public ValueTask OnPartitionsLostAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken ct)
    {
        // Lost, not revoked: the group has moved on and a commit would be refused. Forget them.
        foreach (var state in Forget(partitions))
        {
            _ = state.RevokeAsync();
        }

        return ValueTask.CompletedTask;
    }

    private List<PartitionState> Forget(IReadOnlyCollection<TopicPartition> partitions)
    {
        var forgotten = new List<PartitionState>(partitions.Count);
        lock (_partitionsLock)
        {
            foreach (var partition in partitions)
            {
                if (_partitions.Remove(partition, out var state))
                {
                    forgotten.Add(state);
                }
            }
        }

        return forgotten;
    }

    /// <summary>
    /// Commits the watermarks of <paramref name="states"/> that moved. Outside a revocation, a state revoked since it
    /// was listed is skipped: its partition may belong to another member by now, and its late completions must not
    /// move that member's commit.
    /// </summary>
    private async Task CommitStatesAsync(List<PartitionState> states, bool revoking, CancellationToken cancellationToken)
    {
        try
        {
            await _commitLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        try
        {
            _commits.Clear();
            foreach (var state in states)
            {
                if (state.IsRevoked && !revoking)
                {
                    continue;
                }

                var watermark = state.Tracker.Advance();
                if (watermark != state.Committed) // below it only after a log truncation: the group's commit must move back too
                {
                    _commits.Add(new TopicPartitionCommit(state.TopicPartition, watermark));
                }
            }

            if (_commits.Count == 0)
            {
                return;
            }

            await _consumer.CommitAsync(_commits, cancellationToken).ConfigureAwait(false);
            foreach (var state in states)
            {
                // Only what this commit covered: a state skipped above (revoked after it was listed) keeps its last
                // committed offset, so its revocation commits its watermark — which an earlier, failed commit may have
                // advanced already. A state revoked during the await is skipped here too (revocation is never undone):
                // its revocation commits the same offset again, which is harmless.
                if (state.IsRevoked && !revoking)
                {
                    continue;
                }

                state.Committed = state.Tracker.Watermark;
            }

            Interlocked.Increment(ref _counters.Commits);
        }
#pragma warning disable CA1031 // A failed commit is retried with the next one; the requests stay answered.
        catch (Exception)
#pragma warning restore CA1031
        {
            Interlocked.Increment(ref _counters.CommitFailures);
        }
        finally
        {
            _commits.Clear();
            _commitLock.Release();
        }
    }

    private async Task CommitPeriodicallyAsync()
    {
        // A periodic timer counts whole milliseconds up to uint.MaxValue - 1 (~49.7 days): a longer interval
        // (TimeSpan.MaxValue) never ticks, and answered requests are committed on revocation and at shutdown only; a
        // shorter one than a millisecond ticks every millisecond.
        var period = _options.CommitInterval > MaxTimerPeriod ? Timeout.InfiniteTimeSpan
            : _options.CommitInterval < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : _options.CommitInterval;
        using var timer = new PeriodicTimer(period, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                await CommitAsync(_stop.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping: the final commit is the shutdown's.
        }
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        try
        {
            while (!token.IsCancellationRequested)
            {
                var finished = Volatile.Read(ref _finished);
                RetryParked();
                if (!_admission.HasRoom)
                {
                    await WaitForWakeAsync(finished, null, token).ConfigureAwait(false); // stop pulling until a request finishes
                    continue;
                }

                ConsumeBatch batch;
                try
                {
                    if (_parked.Count > 0)
                    {
                        // Parked batches wait for finishing requests, new records for the broker: wake on either. The
                        // consume left pending is picked up on a later turn (one consume at a time).
                        _pendingConsume ??= _consumer.ConsumeBatchAsync(token).AsTask();
                        if (!_pendingConsume.IsCompleted)
                        {
                            await WaitForWakeAsync(finished, _pendingConsume, token).ConfigureAwait(false);
                            if (!_pendingConsume.IsCompleted)
                            {
                                continue;
                            }
                        }
                    }

                    if (_pendingConsume is { } pending)
                    {
                        _pendingConsume = null;
                        batch = await pending.ConfigureAwait(false);
                    }
                    else
                    {
                        batch = await _consumer.ConsumeBatchAsync(token).ConfigureAwait(false);
                    }
                }
                catch (Exception) when (token.IsCancellationRequested)
                {
                    return;
                }
                catch (ConsumeException ex)
                {
                    Interlocked.Increment(ref _counters.ConsumeErrors);
                    MoveHeld(ex, token);
                    continue;
                }
#pragma warning disable CA1031 // The loop must outlive any one failure; the consumer retries what is transient.
                catch (Exception)
#pragma warning restore CA1031
                {
                    Interlocked.Increment(ref _counters.ConsumeErrors);
                    await Task.Delay(ErrorBackoff, _time, token).ConfigureAwait(false);
                    continue;
                }

                Take(batch);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            await ReleaseParkedAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Takes a batch's requests in order until one may not start; parks the rest.</summary>
    private void Take(ConsumeBatch batch)
    {
        PartitionState? state;
        lock (_partitionsLock)
        {
            _partitions.TryGetValue(batch.TopicPartition, out state);
        }

        if (state is null || state.IsRevoked || !IsCurrent(batch))
        {
            batch.Dispose(); // not ours (any more): the partition's owner reads it from its committed offset
            return;
        }

        if (state.RewindPending && batch.Count > 0)
        {
            state.RewindPending = false;
            state.Tracker.Rewind(batch.Records[0].Offset);
        }

        Interlocked.Add(ref _counters.Received, batch.Count);
        var next = Admit(state, batch, 0);
        if (next < batch.Count)
        {
            var parked = new ParkedBatch(state, batch, next);
            _one[0] = state.TopicPartition;
            try
            {
                _consumer.Pause(_one);
            }
            catch (ArgumentException)
            {
                // Revoked meanwhile (the group's thread runs the listener): the new owner reads the rest from the commit.
                Recycle(parked);
                return;
            }

            _parked.Add(parked);
        }
    }

    /// <summary>
    /// Whether <paramref name="batch"/> belongs to its partition's current assignment. One returned before the partition
    /// was revoked can be taken only after the group assigned it back (the consume completed while the server was full,
    /// and the loop waited for room): the lookup above then finds the new assignment's state, and registering the batch
    /// there would drop the records the new assignment reads from the group's commit — below the batch — as delivered
    /// twice, and let its commit pass requests the old state still runs. The consumer hands out one batch at a time,
    /// so a batch of the current assignment leaves the partition's position past its last record (a hold or a pause
    /// keeps it there; the only seeks are this loop's, or a held partition's, which has no batch out); a new
    /// assignment starts at the commit or, while that is looked up, at no position: at or below the batch's records,
    /// it reads them again, so the batch is dropped. A commit past them (another member answered them) leaves the
    /// batch taken: handled again, at least once, and nothing below it lost.
    /// </summary>
    private bool IsCurrent(in ConsumeBatch batch)
    {
        if (batch.Count == 0)
        {
            return true;
        }

        long? position;
        try
        {
            position = _consumer.Position(batch.TopicPartition);
        }
        catch (ArgumentException)
        {
            return false; // not assigned (any more)
        }

        return position > batch.Records[^1].Offset;
    }

    /// <summary>Admits a batch's requests from <paramref name="next"/> on until one may not start; returns where it stopped (the count when all were taken).</summary>
    private int Admit(PartitionState state, ConsumeBatch batch, int next)
    {
        var records = batch.Records;
        while (next < records.Length && Offer(state, records[next]) == Admission.Admitted)
        {
            next++;
        }

        ScheduleRun();
        return next;
    }

    /// <summary>Queues the run being filled, if it holds any request.</summary>
    private void ScheduleRun()
    {
        if (_run is { IsEmpty: false } run)
        {
            _run = null;
            run.Schedule();
        }
    }

    private void RetryParked()
    {
        for (var i = 0; i < _parked.Count;)
        {
            var parked = _parked[i];
            if (parked.Partition.IsRevoked)
            {
                Recycle(parked);
                _parked.RemoveAt(i);

                // The pause may have landed on the partition assigned back meanwhile: the group revoked and reassigned
                // it between Take's lookup of this (old) state and its pause, which then found the new assignment and
                // did not throw. Nothing would resume it before the next rebalance, so resume it here — unless a batch
                // of the new assignment is parked too (its pause is that batch's, lifted when it drains). Not assigned
                // any more: nothing to resume. Assigned back after its pause: the new assignment starts unpaused, and
                // resuming is a no-op.
                if (!IsParked(parked.Partition.TopicPartition))
                {
                    _one[0] = parked.Partition.TopicPartition;
                    try
                    {
                        _consumer.Resume(_one);
                    }
                    catch (ArgumentException)
                    {
                        // Not assigned (any more).
                    }
                }

                continue;
            }

            parked.Next = _admission.HasRoom ? Admit(parked.Partition, parked.Batch, parked.Next) : parked.Next;
            if (parked.Next < parked.Batch.Count)
            {
                i++;
                continue;
            }

            _parked.RemoveAt(i);
            _one[0] = parked.Partition.TopicPartition;
            try
            {
                _consumer.Resume(_one);
            }
            catch (ArgumentException)
            {
                // Revoked meanwhile: nothing to resume.
            }
        }
    }

    /// <summary>Whether a batch of <paramref name="partition"/> is parked (at most one per partition and assignment: a short scan).</summary>
    private bool IsParked(TopicPartition partition)
    {
        foreach (var parked in _parked)
        {
            if (parked.Partition.TopicPartition == partition)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Offers one record: a request that may start is registered with its partition's tracker and queued to the
    /// thread pool; one that must wait is left for later (its record untouched); one that is garbled beyond reply or
    /// delivered twice is dropped and its offset passed.
    /// </summary>
    private Admission Offer(PartitionState partition, ConsumedRecord record)
    {
        var request = Rent();
        request.Record = record;
        request.Payload = record.Value;
        request.Key = record.IsKeyNull ? (ReadOnlyMemory<byte>?)null : record.Key; // typed: a bare null would convert to an empty key
        request.Headers = record.Headers;
        request.TopicPartition = partition.TopicPartition;
        request.Offset = record.Offset;
        if (!_reader.Read(request, record.Headers))
        {
            // No usable route and nothing to run (or nobody to tell): count it and move past it.
            Interlocked.Increment(ref _counters.Malformed);
            if (partition.Tracker.TryRegister(record.Offset, out var slot))
            {
                OffsetTracker.Complete(slot);
            }

            RecycleRecord(request);
            Return(request);
            return Admission.Admitted;
        }

        var admission = _admission.TryAdmit(request);
        if (admission != Admission.Admitted)
        {
            request.Record = default; // the record stays with its parked batch
            Return(request);
            return admission;
        }

        if (!partition.Tracker.TryRegister(record.Offset, out request.Slot))
        {
            // Delivered twice (at or below an offset already taken): handled once only.
            _admission.Release(request);
            RecycleRecord(request);
            Return(request);
            return Admission.Admitted;
        }

        request.Partition = partition;
        partition.Enter();
        var run = _run ??= _runs.TryDequeue(out var pooled) ? pooled : new RequestRun(_returnRun);
        run.Add(request, this);
        if (run.IsFull)
        {
            ScheduleRun();
        }

        return Admission.Admitted;
    }

    private void Finish(ServerRequest request)
    {
        OffsetTracker.Complete(request.Slot);
        _admission.Release(request); // before recycling: the key set points into the record
        var partition = request.Partition!;
        RecycleRecord(request);
        Return(request);
        partition.Exit();
        Wake();
    }

    /// <summary>Wakes the loop if it waits (Dekker with <see cref="WaitForWakeAsync"/>: the finish is counted first, the flag read after).</summary>
    private void Wake()
    {
        Interlocked.Increment(ref _finished);
        if (Volatile.Read(ref _waiting) != 0)
        {
            Volatile.Read(ref _wake).TrySetResult();
        }

        if (Volatile.Read(ref _drained) is { } drained && _admission.InFlight == 0)
        {
            drained.TrySetResult();
        }
    }

    /// <summary>
    /// Waits until a request finishes after <paramref name="seen"/> finishes were counted (or <paramref name="alsoWaitFor"/>
    /// completes). The flag is raised before the count is looked at again, so a finish in between is never missed:
    /// either it sees the flag and signals, or this sees its count.
    /// </summary>
    private async Task WaitForWakeAsync(long seen, Task? alsoWaitFor, CancellationToken token)
    {
        var signal = NewSignal();
        Volatile.Write(ref _wake, signal);
        Interlocked.Exchange(ref _waiting, 1);
        try
        {
            if (Volatile.Read(ref _finished) != seen)
            {
                return;
            }

            await (alsoWaitFor is null ? signal.Task : Task.WhenAny(signal.Task, alsoWaitFor)).WaitAsync(token).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Exchange(ref _waiting, 0);
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServerRequest Rent() => _pool.TryDequeue(out var request) ? request : new ServerRequest();

    private void Return(ServerRequest request)
    {
        request.Clear();
        if (_pool.Count < _options.MaxConcurrentRequests)
        {
            _pool.Enqueue(request);
        }
    }

    private static void RecycleRecord(ServerRequest request)
    {
        try
        {
            request.Record.Recycle();
        }
        catch (ObjectDisposedException)
        {
            // A default record (built by hand) or one recycled with its consumer's disposal.
        }
    }

    private static void Recycle(ParkedBatch parked)
    {
        // Records before Next belong to requests that recycle them one by one on other threads: never dispose the
        // batch as a whole while they may, only the records still here.
        var records = parked.Batch.Records;
        for (var i = parked.Next; i < records.Length; i++)
        {
            try
            {
                records[i].Recycle();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    private async Task ReleaseParkedAsync()
    {
        foreach (var parked in _parked)
        {
            Recycle(parked);
        }

        _parked.Clear();
        if (_pendingConsume is { } pending)
        {
            _pendingConsume = null;
            try
            {
                (await pending.ConfigureAwait(false)).Dispose();
            }
#pragma warning disable CA1031 // Stopping: a consume cancelled or failed under it has nothing to add.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
    }
}
