using System.Collections.Concurrent;
using Messaging.Protocol;
using Messaging.Records;

namespace Messaging.Producer;

/// <summary>What an append did.</summary>
internal enum AppendStatus
{
    /// <summary>The record is in a batch.</summary>
    Appended,

    /// <summary>A new batch is needed and the memory bound does not allow its buffer now: wait for memory, then <see cref="RecordAccumulator.AppendWithBuffer"/>.</summary>
    NeedsMemory,

    /// <summary>The partition's batch was full and the caller asked to re-partition in that case (sticky partitioning).</summary>
    NewBatchRequired,

    /// <summary>The topic no longer has the partition (<see cref="PartitionState.Removed"/>): place the record again on the partitions it has.</summary>
    PartitionRemoved,

    /// <summary>The producer dropped the topic as idle (<see cref="TopicState.Retired"/>): place the record again on the topic's new state.</summary>
    TopicRetired,
}

/// <summary>
/// Per-partition batching: the topics produced to, each partition's open batch and queue, the batches not yet
/// completed (for flush), the release of settled batches, and the failing of queued batches (expired, or left
/// when the producer closes or stops for good).
/// </summary>
/// <remarks>
/// An append takes the partition's lock, encodes the record into the open batch and leaves; it allocates nothing
/// unless it has to start a batch (a pooled object and, from the memory-bounded pool, a buffer). Starting a batch
/// or filling one wakes the partition's sender (outside the lock); a record never waits for the sender.
/// </remarks>
internal sealed class RecordAccumulator
{
    private const int InitialBufferSize = 16 * 1024;

    private readonly ProducerSettings _settings;
    private readonly BufferPool _pool;
    private readonly IdempotenceState? _idempotence;
    private readonly ProducerLog _log;
    private readonly ConcurrentDictionary<string, TopicState> _topics = new(StringComparer.Ordinal);
    private readonly HashSet<ProducerBatch> _incomplete = [];
    private readonly Lock _incompleteLock = new();
    private readonly Lock _topicsLock = new();

    /// <summary>With idempotence: the sequences of topics dropped as idle, by name, for when they are produced to again (under <see cref="_topicsLock"/>).</summary>
    private readonly Dictionary<string, PartitionSequences[]> _retiredSequences = new(StringComparer.Ordinal);
    private TopicState[] _topicList = [];
    private TopicState? _lastTopic;
    private int _nextTopicId;
    private volatile bool _closed;
    private volatile Exception? _fatal;
    private int _flushing;

    /// <param name="settings">The producer's settings.</param>
    /// <param name="pool">The memory pool batch buffers come from and go back to.</param>
    /// <param name="idempotence">The sequence bookkeeping a batch failed here is taken out of (ignored without idempotence).</param>
    /// <param name="log">Where a batch failed without a delivery handler is reported.</param>
    public RecordAccumulator(ProducerSettings settings, BufferPool pool, IdempotenceState idempotence, ProducerLog log)
    {
        _settings = settings;
        _pool = pool;
        _idempotence = settings.Idempotent ? idempotence : null;
        _log = log;
    }

    /// <summary>True while a flush or the producer's close asks every batch to be sent without lingering.</summary>
    public bool SendImmediately => Volatile.Read(ref _flushing) > 0 || _closed || _pool.HasWaiters;

    /// <summary>
    /// True once closing gave up waiting: appends fail, and every batch still around fails with
    /// <see cref="ProduceErrorKind.Disposed"/> (a sender settling one does not retry it).
    /// </summary>
    public bool IsClosed => _closed;

    /// <summary>Batches created and not completed.</summary>
    public int IncompleteCount
    {
        get
        {
            lock (_incompleteLock)
            {
                return _incomplete.Count;
            }
        }
    }

    /// <summary>Every topic produced to so far (a snapshot array, replaced when a topic is added: reading it allocates nothing).</summary>
    public TopicState[] Topics => Volatile.Read(ref _topicList);

    /// <summary>The state of <paramref name="topic"/>, created on first use (without partitions until metadata arrives).</summary>
    public TopicState GetOrAddTopic(string topic)
    {
        var last = Volatile.Read(ref _lastTopic);
        if (last is not null && ReferenceEquals(last.Name, topic) && !last.Retired)
        {
            return last;
        }

        if (!_topics.TryGetValue(topic, out var state))
        {
            lock (_topicsLock)
            {
                state = GetOrAddTopicLocked(topic);
            }
        }

        Volatile.Write(ref _lastTopic, state);
        return state;
    }

    /// <summary>
    /// The state of <paramref name="topic"/> for a call that waits for its metadata: the topic is not dropped as idle
    /// until the call gives it back with <see cref="ReleaseTopic"/>, however long it waits.
    /// </summary>
    public TopicState AcquireTopic(string topic)
    {
        lock (_topicsLock)
        {
            var state = GetOrAddTopicLocked(topic);
            state.Waiters++;
            return state;
        }
    }

    /// <summary>Ends a wait <see cref="AcquireTopic"/> began; the topic's idle time counts from now.</summary>
    public void ReleaseTopic(TopicState state)
    {
        lock (_topicsLock)
        {
            state.Waiters--;
            state.LastUsedTicks = _settings.Clock.Now;
        }
    }

    /// <summary>
    /// Drops every topic that has not been used for <paramref name="maxIdleTicks"/> (<c>metadata.max.idle.ms</c>) and
    /// has nothing open, queued or in flight and no call waiting for its metadata, as the Java producer drops such a
    /// topic from its metadata. <paramref name="forget"/> is told each one's name, under the topics lock, so the
    /// metadata stops asking for it before a record for it can start its state again. The topic's state is marked
    /// <see cref="TopicState.Retired"/> under all its partitions' locks, so an append either went in before (the topic
    /// was not idle then) or sees the mark and starts over on the topic's new state. With idempotence its partitions'
    /// sequences are kept for the topic's next state: the broker remembers them, and a partition that started again
    /// at sequence 0 would have its next batch taken for a duplicate or a gap.
    /// </summary>
    public void RetireIdle(long now, long maxIdleTicks, Action<string> forget)
    {
        foreach (var topic in Topics)
        {
            if (now - topic.LastUsedTicks < maxIdleTicks)
            {
                continue;
            }

            lock (_topicsLock)
            {
                if (topic.Waiters > 0 || topic.Retired || !topic.TryRetire())
                {
                    continue;
                }

                _topics.TryRemove(topic.Name, out _);
                Volatile.Write(ref _topicList, Array.FindAll(_topicList, t => !ReferenceEquals(t, topic)));
                Interlocked.CompareExchange(ref _lastTopic, null, topic);
                if (_idempotence is not null && Array.Exists(topic.Partitions, static p => p.Sequences.ProducerIdAndEpoch.IsValid))
                {
                    _retiredSequences[topic.Name] = Array.ConvertAll(topic.Partitions, static p => p.Sequences);
                }

                forget(topic.Name);
            }
        }
    }

    /// <summary>The topic's state, created (with the sequences it had when it was dropped as idle, if any) when it has none. Under <see cref="_topicsLock"/>.</summary>
    private TopicState GetOrAddTopicLocked(string topic)
    {
        if (!_topics.TryGetValue(topic, out var state))
        {
            _retiredSequences.Remove(topic, out var sequences);
            state = new TopicState(topic, _nextTopicId++, _settings.Clock.Now, sequences);
            _topics[topic] = state;
            Volatile.Write(ref _topicList, [.. _topicList, state]);
        }

        return state;
    }

    /// <summary>Stops appends; later calls see <see cref="IsClosed"/>.</summary>
    public void Close() => _closed = true;

    /// <summary>
    /// The producer stopped for good (<paramref name="cause"/>): every batch not in flight fails as
    /// <see cref="ProduceErrorKind.Fatal"/>, and so does every append from now on — a record that was waiting for
    /// memory or metadata included, which would otherwise start a batch no sender ever drains.
    /// </summary>
    public void StopForGood(Exception cause)
    {
        _fatal = cause; // before the partitions are emptied: an append either sees it, or its batch is failed below
        FailQueued((partition, _) => ProducerErrors.Fatal(partition.TopicPartition, cause));
    }

    /// <summary>Makes every open batch ready until <see cref="EndFlush"/>.</summary>
    public void BeginFlush() => Interlocked.Increment(ref _flushing);

    public void EndFlush() => Interlocked.Decrement(ref _flushing);

    /// <summary>Tasks for every batch not completed right now (for flush).</summary>
    /// <remarks>
    /// Taken under the registry's lock: a registered batch has not been marked done nor recycled yet (that happens
    /// after it leaves the registry), so each task belongs to the batch as it is now, not to a later reuse of the
    /// same object.
    /// </remarks>
    public List<Task> IncompleteBatches()
    {
        var tasks = new List<Task>();
        lock (_incompleteLock)
        {
            foreach (var batch in _incomplete)
            {
                var done = batch.WhenDone();
                if (!done.IsCompleted)
                {
                    tasks.Add(done);
                }
            }
        }

        return tasks;
    }

    /// <summary>
    /// Appends a record to its partition's open batch, starting a new batch (with a buffer from the pool, if it has
    /// one to give now) when there is none or it is full.
    /// </summary>
    /// <remarks>
    /// With <c>abortOnNewBatch</c>, a full open batch makes it return <see cref="AppendStatus.NewBatchRequired"/>
    /// instead of starting one (sticky partitioning re-partitions the record). <c>wake</c> is the sender to wake
    /// outside any lock, if any. <c>callDeadlineTicks</c>: the record's delivery deadline counted from its call when it
    /// waited before this append (the batch's deadline is brought forward to it), or 0 for a record appended as it is produced.
    /// </remarks>
    /// <exception cref="ObjectDisposedException">The producer is closed.</exception>
    /// <exception cref="ProduceException">The producer stopped for good (<see cref="StopForGood"/>).</exception>
    public AppendStatus TryAppend(PartitionState partition, long timestampMs, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value,
        ReadOnlySpan<RecordHeader> headers, RecordNulls nulls, object? target, object? state, bool abortOnNewBatch, int recordSize, long callDeadlineTicks, out SenderWake wake)
    {
        wake = default;
        lock (partition.Sync)
        {
            if (_closed)
            {
                ThrowClosed();
            }

            if (_fatal is { } fatal)
            {
                throw ProducerErrors.Fatal(partition.TopicPartition, fatal);
            }

            if (partition.Removed)
            {
                return AppendStatus.PartitionRemoved;
            }

            if (partition.Topic.Retired)
            {
                return AppendStatus.TopicRetired;
            }

            var open = partition.Open;
            if (open is not null)
            {
                if (open.TryAppend(timestampMs, key, value, headers, nulls, target, state, _pool))
                {
                    if (callDeadlineTicks != 0)
                    {
                        open.TightenDeadline(callDeadlineTicks);
                    }

                    return AppendStatus.Appended;
                }

                // Full: it is ready to go as it is.
                CloseOpenBatch(partition, open);
                wake = new SenderWake(partition.Sender, 0);
                if (abortOnNewBatch)
                {
                    return AppendStatus.NewBatchRequired;
                }
            }

            var buffer = _pool.TryRent(MinimumBufferSize(recordSize), PreferredBufferSize(partition, recordSize));
            if (buffer is null)
            {
                return AppendStatus.NeedsMemory;
            }

            var started = StartBatch(partition, buffer, recordSize, timestampMs, key, value, headers, nulls, target, state, callDeadlineTicks);

            // A batch closed just now (full) needs the sender now; a new one alone by its linger at the latest.
            if (wake.IsEmpty)
            {
                wake = new SenderWake(partition.Sender, SendImmediately ? 0 : Math.Max(1, started.CreatedTicks + _settings.LingerTicks));
            }
        }

        return AppendStatus.Appended;
    }

    /// <summary>
    /// Appends with a buffer the caller waited for. If meanwhile another append started a batch with room, the
    /// record goes there and the buffer goes back to the pool. Returns false, giving the buffer back, when the
    /// producer dropped the topic as idle meanwhile (<see cref="TopicState.Retired"/>): place the record again.
    /// </summary>
    /// <exception cref="ProduceException">The topic lost the partition meanwhile (<see cref="PartitionState.Removed"/>), or the producer stopped for good (<see cref="StopForGood"/>).</exception>
    public bool AppendWithBuffer(PartitionState partition, byte[] buffer, long timestampMs, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value,
        ReadOnlySpan<RecordHeader> headers, RecordNulls nulls, object? target, object? state, int recordSize, long callDeadlineTicks, out SenderWake wake)
    {
        lock (partition.Sync)
        {
            if (_closed)
            {
                _pool.Return(buffer);
                ThrowClosed();
            }

            if (_fatal is { } fatal)
            {
                _pool.Return(buffer);
                throw ProducerErrors.Fatal(partition.TopicPartition, fatal);
            }

            if (partition.Removed)
            {
                _pool.Return(buffer);
                throw ProducerErrors.PartitionRemoved(partition.TopicPartition, partition.Topic.Partitions.Length);
            }

            if (partition.Topic.Retired)
            {
                _pool.Return(buffer);
                wake = default;
                return false;
            }

            wake = new SenderWake(partition.Sender, 0); // it waited for memory: let the sender look now
            var open = partition.Open;
            if (open is not null)
            {
                if (open.TryAppend(timestampMs, key, value, headers, nulls, target, state, _pool))
                {
                    _pool.Return(buffer);
                    if (callDeadlineTicks != 0)
                    {
                        open.TightenDeadline(callDeadlineTicks);
                    }

                    return true;
                }

                CloseOpenBatch(partition, open);
            }

            StartBatch(partition, buffer, recordSize, timestampMs, key, value, headers, nulls, target, state, callDeadlineTicks);
        }

        return true;
    }

    /// <summary>The least buffer a new batch needs for its first record: the batch header and the record.</summary>
    public static int MinimumBufferSize(int recordSize) => RecordBatchLayout.HeaderSize + recordSize;

    /// <summary>The buffer size a new batch of this partition would like: what its last batch needed (at least the record), at most batch.size.</summary>
    public int PreferredBufferSize(PartitionState partition, int recordSize) =>
        Math.Max(MinimumBufferSize(recordSize), Math.Min(_settings.BatchSize, Math.Max(InitialBufferSize, partition.LastBufferSize)));

    /// <summary>A batch whose records were reported leaves the flush registry, wakes its flush waiters, gives its buffer back and is recycled — in that order.</summary>
    public void Release(ProducerBatch batch)
    {
        lock (_incompleteLock)
        {
            _incomplete.Remove(batch);
        }

        batch.MarkDone();
        Recycle(batch);
    }

    /// <summary>
    /// The two parts of a batch the broker refused as too large take its place in the flush registry, before they are
    /// queued: a flush waiting for the refused batch waits for its parts instead. The refused batch is recycled with
    /// <see cref="ReleaseSplit"/> once nothing refers to it any more.
    /// </summary>
    public void RegisterSplit(ProducerBatch refused, ProducerBatch first, ProducerBatch second)
    {
        lock (_incompleteLock)
        {
            _incomplete.Add(first);
            _incomplete.Add(second);
            _incomplete.Remove(refused);
            refused.MarkDoneWithParts(first, second);
        }
    }

    /// <summary>Recycles a batch whose records went to its parts (<see cref="RegisterSplit"/>): there is nothing to report, and its buffer goes back.</summary>
    public void ReleaseSplit(ProducerBatch refused) => Recycle(refused);

    /// <summary>Recycles the batch; its buffer goes back to the pool unless it was allocated outside it (a split part's).</summary>
    private void Recycle(ProducerBatch batch)
    {
        var pooled = batch.HasPooledBuffer;
        var buffer = batch.Recycle();
        if (pooled)
        {
            _pool.Return(buffer);
        }
    }

    /// <summary>Fails and releases every batch that is not in flight, in every partition.</summary>
    public void FailQueued(Func<PartitionState, ProducerBatch, ProduceException> error)
    {
        var taken = new List<ProducerBatch>();
        foreach (var topic in Topics)
        {
            foreach (var partition in topic.Partitions)
            {
                taken.Clear();
                lock (partition.Sync)
                {
                    CollectAll(partition, taken);
                    foreach (var batch in taken)
                    {
                        _idempotence?.OnFailed(partition, batch, batch.LastErrorCode, rejectedByBroker: false);
                    }
                }

                foreach (var batch in taken)
                {
                    batch.Fail(error(partition, batch), _log);
                    Release(batch);
                }
            }
        }
    }

    /// <summary>
    /// Takes partitions the topic no longer has out of service (it was deleted and created again with fewer
    /// partitions): each is marked <see cref="PartitionState.Removed"/> and leaderless, so nothing is appended,
    /// drained or queued to it any more, and its batches that are not in flight fail now with
    /// <see cref="ProducerErrors.PartitionRemoved"/> rather than wait for their delivery timeout (no sender drains
    /// them, and housekeeping no longer sees them); so do records waiting for memory for it (their wait ends). Its
    /// batches in flight fail the same way when they are settled.
    /// Called after the topic's partitions were cut back.
    /// </summary>
    public void FailRemoved(IEnumerable<PartitionState> removed)
    {
        var taken = new List<ProducerBatch>();
        foreach (var partition in removed)
        {
            taken.Clear();
            lock (partition.Sync)
            {
                partition.Removed = true;
                partition.Sender = null;
                partition.Leader = -1;
                CollectAll(partition, taken);
            }

            _pool.EndWaits(partition); // before the batches free memory: it goes to records for partitions that exist
            foreach (var batch in taken)
            {
                FailAsRemoved(partition, batch);
            }
        }
    }

    /// <summary>Fails and releases a batch of a partition its topic no longer has (<see cref="PartitionState.Removed"/>).</summary>
    public void FailAsRemoved(PartitionState partition, ProducerBatch batch)
    {
        batch.Fail(ProducerErrors.PartitionRemoved(partition.TopicPartition, partition.Topic.Partitions.Length), _log);
        Release(batch);
    }

    /// <summary>
    /// Fails batches whose delivery timeout passed by <paramref name="now"/> and that are not in flight (the senders
    /// expire their in-flight ones). <paramref name="expired"/> is scratch space. Returns whether some partition holds
    /// records but has no sender: its leader is unknown, or not in the broker list. A topic with a batch open, queued
    /// or in flight is marked used now (<see cref="TopicState.LastUsedTicks"/>).
    /// </summary>
    public bool ExpireQueued(long now, List<ProducerBatch> expired)
    {
        var unroutable = false;
        foreach (var topic in Topics)
        {
            var used = false;
            foreach (var partition in topic.Partitions)
            {
                expired.Clear();
                lock (partition.Sync)
                {
                    var holds = partition.Open is not null || partition.Queue.Count > 0;
                    unroutable |= partition.Sender is null && holds;
                    used |= holds || partition.InFlight > 0;
                    // Every queued batch past its deadline, not only those at the front: deadlines are not in queue
                    // order (a record that waited for memory or metadata keeps the deadline of its call, and a retried
                    // batch without a sequence goes back first), and a batch behind one with more time left would
                    // otherwise be reported only at that one's deadline. Failing a batch from the middle leaves the rest
                    // in order. With idempotence a batch without a sequence was never sent and holds no sequence; one
                    // with a sequence leaves the same gap as when it expires at the front: OnFailed marks the partition
                    // unresolved, and the broker's answers to the batches after it decide whether the epoch is bumped.
                    partition.Queue.RemoveExpired(now, expired);
                    if (_idempotence is not null)
                    {
                        foreach (var batch in expired)
                        {
                            _idempotence.OnFailed(partition, batch, batch.LastErrorCode, rejectedByBroker: false);
                        }
                    }

                    // The open batch too, whatever is queued ahead of it: it has no sequence yet, so failing it leaves the
                    // batches ahead, and their order, as they are.
                    if (partition.Open is { } open && open.DeadlineTicks <= now)
                    {
                        partition.Open = null;
                        expired.Add(open);
                    }
                }

                foreach (var batch in expired)
                {
                    batch.Fail(ProducerErrors.DeliveryTimeout(partition.TopicPartition, batch, _settings), _log);
                    Release(batch);
                }
            }

            if (used)
            {
                topic.LastUsedTicks = now;
            }
        }

        return unroutable;
    }

    /// <summary>Takes every batch of the partition that is not in flight (close: what cannot be delivered any more).</summary>
    private static void CollectAll(PartitionState partition, List<ProducerBatch> taken)
    {
        lock (partition.Sync)
        {
            while (partition.Queue.Count > 0)
            {
                taken.Add(partition.Queue.RemoveFirst());
            }

            if (partition.Open is { } open)
            {
                partition.Open = null;
                taken.Add(open);
            }
        }
    }

    /// <summary>
    /// True when the partition's open batch has waited its linger, or its sender is idle and
    /// <see cref="ProducerSettings.SendWhenIdle"/> is on, or a flush, close or memory pressure wants it now.
    /// </summary>
    public bool IsOpenBatchReady(ProducerBatch open, long nowTicks, bool senderIdle, ref long wakeAtTicks)
    {
        if (SendImmediately || (senderIdle && _settings.SendWhenIdle))
        {
            return true;
        }

        var readyAt = open.CreatedTicks + _settings.LingerTicks;
        if (nowTicks >= readyAt)
        {
            return true;
        }

        if (readyAt < wakeAtTicks)
        {
            wakeAtTicks = readyAt;
        }

        return false;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowClosed() => throw new ObjectDisposedException(nameof(KafkaProducer), "The producer has been disposed.");

    /// <summary>Moves the open batch to the queue (it is full, or the sender takes it). Under the partition's lock.</summary>
    public static void CloseOpenBatch(PartitionState partition, ProducerBatch open)
    {
        partition.Open = null;
        partition.LastBufferSize = open.Buffer.Length;
        partition.Queue.AddLast(open);
    }

    /// <summary>Opens a batch with its first record; returns it (read it only under the partition's lock: a sender may take it once that is released).</summary>
    private ProducerBatch StartBatch(PartitionState partition, byte[] buffer, int recordSize, long timestampMs, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value,
        ReadOnlySpan<RecordHeader> headers, RecordNulls nulls, object? target, object? state, long callDeadlineTicks)
    {
        var limit = Math.Max(_settings.BatchSize, MinimumBufferSize(recordSize));
        var now = _settings.Clock.Now;
        partition.Topic.LastUsedTicks = now; // once per batch: metadata.max.idle.ms counts from the topic's last batch
        var batch = ProducerBatch.Rent(partition, buffer, limit, now, _settings.DeliveryTimeoutTicks);
        if (callDeadlineTicks != 0)
        {
            batch.TightenDeadline(callDeadlineTicks); // the record waited before it got here: its deadline counts from its call
        }

        if (!batch.TryAppend(timestampMs, key, value, headers, nulls, target, state, _pool))
        {
            throw new InvalidOperationException("A new batch could not take its first record; its buffer was sized wrongly.");
        }

        // Registered before any sender can see it, so it cannot complete before it is registered.
        lock (_incompleteLock)
        {
            _incomplete.Add(batch);
        }

        partition.Open = batch;
        return batch;
    }
}
