using System.Buffers;
using Messaging.Records;
using Messaging.Threading;

namespace Messaging.Producer;

/// <summary>
/// The slow lane of <c>ProduceAsync</c>: records that must wait before they can be appended — for their topic's
/// first metadata, or for buffer memory — wait here, in call order, and one worker appends them one after the
/// other. While records of a topic wait here, later <c>ProduceAsync</c> calls for it queue behind them instead of
/// taking the fast path, and synchronous <c>Produce</c> calls for it wait until none of its records wait here, so records produced
/// in sequence are appended in sequence whichever of them had to wait (the Java client keeps that order by blocking
/// the caller). The order kept is per topic (Kafka orders records per partition only): a topic waiting for its first metadata is <em>parked</em> — its metadata is awaited
/// aside, and the worker goes on with the records of other topics behind it — so one topic that never appears (a
/// wrong name, no rights) holds up only its own records, not every other topic's for the whole wait limit.
/// </summary>
/// <remarks>
/// Nothing here runs per record in the steady state: the fast path only reads <see cref="IsEmpty"/>. An entry is
/// an object allocated when a record has to wait, which is the exception. Each entry keeps its own wait deadline
/// (<see cref="ProducerSettings.AppendWaitLimit"/> from the call). Entries queue in call order, so their deadlines
/// are in queue order too: when the head's wait ends, every entry behind it whose deadline has passed fails at
/// once, without a wait of its own — thousands of calls waiting for an unreachable cluster all fail on time, not
/// one timer tick after another.
/// </remarks>
internal sealed class ProduceLane : IDisposable
{
    private readonly LinkedList<Entry> _queue = new();

    /// <summary>Topics whose first metadata is being awaited aside, with that wait (under <see cref="_lock"/>).</summary>
    private readonly Dictionary<string, Task> _parked = new(StringComparer.Ordinal);

    /// <summary>How many entries of each topic wait here (under <see cref="_lock"/>).</summary>
    private readonly Dictionary<string, int> _waitingByTopic = new(StringComparer.Ordinal);

    /// <summary>Completed when the last waiting entry of a topic is done, for blocking calls of that topic (under <see cref="_lock"/>; made only when one waits).</summary>
    private readonly Dictionary<string, TaskCompletionSource> _drainedByTopic = new(StringComparer.Ordinal);
    private readonly Func<string, bool> _needsMetadata;
    private readonly Func<string, TimeSpan, CancellationToken, ValueTask> _waitForMetadata;
    private readonly Lock _lock = new();
    private readonly AsyncSignal _signal;
    private readonly Clock _clock;
    private readonly CancellationTokenSource _stop = new();
    private readonly Func<Entry, CancellationToken, ValueTask> _append;
    private readonly Func<Entry, Exception> _expired;
    private readonly long _waitLimitTicks;
    private readonly long _deliveryTimeoutTicks;
    private TaskCompletionSource? _emptied;

    /// <summary>Set by <see cref="StopAsync"/> (under <see cref="_lock"/>): the error an entry arriving after it fails with at once.</summary>
    private Func<Entry, Exception>? _stopped;
    private Task? _worker;
    private int _count;

    /// <param name="append">Appends one entry (waiting for what it needs, until <see cref="Entry.WaitDeadlineTicks"/>); completes or fails the entry's promise itself.</param>
    /// <param name="expired">The error for an entry whose wait deadline passed before its turn.</param>
    /// <param name="settings">The wait limit and delivery timeout the entries' deadlines count from their calls.</param>
    /// <param name="needsMetadata">True while a topic has no usable metadata yet (its records would wait for it).</param>
    /// <param name="waitForMetadata">Waits up to the given time for a topic's first metadata; may throw (the records then fail on their own turn).</param>
    public ProduceLane(Func<Entry, CancellationToken, ValueTask> append, Func<Entry, Exception> expired, ProducerSettings settings,
        Func<string, bool> needsMetadata, Func<string, TimeSpan, CancellationToken, ValueTask> waitForMetadata)
    {
        _append = append;
        _expired = expired;
        _needsMetadata = needsMetadata;
        _waitForMetadata = waitForMetadata;
        _clock = settings.Clock;
        _signal = new AsyncSignal(_clock);
        _waitLimitTicks = _clock.ToTicks(settings.AppendWaitLimit);
        _deliveryTimeoutTicks = settings.DeliveryTimeoutTicks;
    }

    /// <summary>True when nothing waits.</summary>
    public bool IsEmpty => Volatile.Read(ref _count) == 0;

    /// <summary>
    /// True when records of <paramref name="topic"/> wait here: a record of it produced now would overtake them. When
    /// false the fast path may append directly (order is kept per topic; other topics' waiting records do not hold it).
    /// </summary>
    public bool HasWaiting(string topic)
    {
        if (IsEmpty)
        {
            return false;
        }

        lock (_lock)
        {
            return _waitingByTopic.ContainsKey(topic);
        }
    }

    public void Enqueue(Entry entry)
    {
        entry.EnqueuedTicks = _clock.Now;
        entry.WaitDeadlineTicks = Clock.Add(entry.EnqueuedTicks, _waitLimitTicks);
        entry.DeliveryDeadlineTicks = Clock.Add(entry.EnqueuedTicks, _deliveryTimeoutTicks);
        Func<Entry, Exception>? stopped;
        lock (_lock)
        {
            // A call that found the producer open just before it closed can get here after StopAsync drained the queue
            // (and the worker ended): nobody would ever complete the entry, so it fails now, as StopAsync fails the rest.
            stopped = _stopped;
            if (stopped is null)
            {
                _queue.AddLast(entry);
                _waitingByTopic[entry.Topic] = _waitingByTopic.GetValueOrDefault(entry.Topic) + 1;
                _count++;
                _worker ??= Task.Run(RunAsync);
            }
        }

        if (stopped is not null)
        {
            entry.Fail(stopped(entry));
            return;
        }

        _signal.Set();
    }

    /// <summary>
    /// Blocks until no entry of <paramref name="topic"/> waits here, at most <paramref name="timeout"/>; false if some
    /// still wait then. Only the topic's own entries hold the caller: order is kept per topic, so another topic
    /// waiting for metadata that never comes must not hold (and then fail) a call for this one.
    /// </summary>
    public bool WaitUntilNoneWaiting(string topic, TimeSpan timeout)
    {
        Task drained;
        lock (_lock)
        {
            if (!_waitingByTopic.ContainsKey(topic))
            {
                return true;
            }

            if (!_drainedByTopic.TryGetValue(topic, out var source))
            {
                _drainedByTopic[topic] = source = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            drained = source.Task;
        }

        try
        {
            drained.WaitAsync(Clock.TimerDelay(timeout), _clock.Provider).GetAwaiter().GetResult();
            return true;
        }
        catch (TimeoutException)
        {
            return !HasWaiting(topic);
        }
    }

    /// <summary>Completes when the lane is empty.</summary>
    public Task WhenEmptyAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_count == 0)
            {
                return Task.CompletedTask;
            }

            _emptied ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _emptied.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Stops the worker; entries still waiting fail with <paramref name="error"/>.</summary>
    public async ValueTask StopAsync(Func<Entry, Exception> error)
    {
        lock (_lock)
        {
            _stopped = error; // entries arriving from now on fail at once (Enqueue); those queued fail below
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        _signal.Set();
        Task? worker;
        lock (_lock)
        {
            worker = _worker;
        }

        if (worker is not null)
        {
            await worker.ConfigureAwait(false);
        }

        Task[] parked;
        lock (_lock)
        {
            parked = [.. _parked.Values];
        }

        await Task.WhenAll(parked).ConfigureAwait(false); // stopped by the same token; they never throw

        while (true)
        {
            Entry? entry;
            lock (_lock)
            {
                entry = _queue.First?.Value;
                if (entry is null)
                {
                    break;
                }

                _queue.RemoveFirst();
            }

            entry.Fail(error(entry));
            Done(entry);
        }
    }

    public void Dispose()
    {
        _signal.Dispose();
        _stop.Dispose();
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            var node = NextUnparked();
            if (node is null)
            {
                await _signal.WaitAsync(long.MaxValue, token).ConfigureAwait(false);
                continue;
            }

            var entry = node.Value;
            try
            {
                if (_clock.Now >= entry.WaitDeadlineTicks)
                {
                    entry.Fail(_expired(entry)); // its time ran out while it queued: no wait of its own
                }
                else if (_needsMetadata(entry.Topic))
                {
                    Park(entry); // stays queued, first of its topic; the worker goes on with other topics
                    continue;
                }
                else
                {
                    await _append(entry, token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return; // StopAsync fails what is left, this entry included
            }
            catch (Exception ex)
            {
                entry.Fail(ex);
            }

            lock (_lock)
            {
                _queue.Remove(node);
            }

            Done(entry);
        }
    }

    /// <summary>
    /// The first entry, in call order, whose topic is not parked. Walks past parked topics' entries: that costs only
    /// while a topic waits for metadata, bounded by how many records wait for it.
    /// </summary>
    private LinkedListNode<Entry>? NextUnparked()
    {
        lock (_lock)
        {
            for (var node = _queue.First; node is not null; node = node.Next)
            {
                if (_parked.Count == 0 || !_parked.ContainsKey(node.Value.Topic))
                {
                    return node;
                }
            }

            return null;
        }
    }

    /// <summary>
    /// Parks <paramref name="entry"/>'s topic: its first metadata is awaited aside, up to the entry's own wait
    /// deadline; when that wait ends — metadata, error or time out — the topic is unparked and the worker takes its
    /// records again in order (the first one fails then if its time ran out; a later one may park the topic again for
    /// what is left of its own time).
    /// </summary>
    private void Park(Entry entry)
    {
        var topic = entry.Topic;
        var wait = _clock.Until(entry.WaitDeadlineTicks);
        lock (_lock)
        {
            _parked[topic] = Task.CompletedTask; // parked before the wait starts: it may end (and unpark) before it returns
        }

        var waiting = WaitForMetadataAsync(topic, wait); // outside the lock: its end takes the lock
        lock (_lock)
        {
            if (_parked.TryGetValue(topic, out var placeholder) && ReferenceEquals(placeholder, Task.CompletedTask))
            {
                _parked[topic] = waiting; // still waiting: kept for StopAsync to await
            }
        }
    }

    private async Task WaitForMetadataAsync(string topic, TimeSpan wait)
    {
        try
        {
            await _waitForMetadata(topic, wait, _stop.Token).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // The outcome is the topic's records' business: each fails on its own turn if it still cannot be appended.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
        finally
        {
            lock (_lock)
            {
                _parked.Remove(topic);
            }

            if (!_stop.IsCancellationRequested)
            {
                _signal.Set();
            }
        }
    }

    private void Done(Entry entry)
    {
        TaskCompletionSource? emptied = null;
        TaskCompletionSource? drained = null;
        lock (_lock)
        {
            var left = _waitingByTopic[entry.Topic] - 1;
            if (left == 0)
            {
                _waitingByTopic.Remove(entry.Topic);
                _drainedByTopic.Remove(entry.Topic, out drained);
            }
            else
            {
                _waitingByTopic[entry.Topic] = left;
            }

            if (--_count == 0)
            {
                emptied = _emptied;
                _emptied = null;
            }
        }

        drained?.TrySetResult();
        emptied?.TrySetResult();
    }

    /// <summary>One record waiting to be appended: its bytes (caller-owned memory, or pooled copies this entry returns), where it goes, and whom to tell.</summary>
    internal sealed class Entry(string topic, ReadOnlyMemory<byte> key, ReadOnlyMemory<byte> value, RecordNulls nulls, IReadOnlyList<RecordHeader>? headers,
        int partition, long timestampMs, DeliveryPromise promise, CancellationToken cancellationToken)
    {
        public string Topic { get; } = topic;

        public ReadOnlyMemory<byte> Key { get; } = key;

        public ReadOnlyMemory<byte> Value { get; } = value;

        public RecordNulls Nulls { get; } = nulls;

        public IReadOnlyList<RecordHeader>? Headers { get; } = headers;

        public int Partition { get; } = partition;

        public long TimestampMs { get; } = timestampMs;

        public DeliveryPromise Promise { get; } = promise;

        public CancellationToken CancellationToken { get; } = cancellationToken;

        /// <summary>When the call was made (a timestamp of the producer's clock; set by <see cref="Enqueue"/>, which the call makes): the wait limit and the delivery timeout count from here.</summary>
        public long EnqueuedTicks { get; set; }

        /// <summary>Until when the record may wait to be appended (a timestamp of the producer's clock); set by <see cref="Enqueue"/>.</summary>
        public long WaitDeadlineTicks { get; set; }

        /// <summary>When the record's delivery timeout runs out, counted from its call (a timestamp of the producer's clock); set by <see cref="Enqueue"/>.</summary>
        public long DeliveryDeadlineTicks { get; set; }

        /// <summary>Pooled copies of the key and value to return once appended (the typed producer's bytes), or null.</summary>
        public byte[]? RentedKey { get; init; }

        public byte[]? RentedValue { get; init; }

        /// <summary>The record is in a batch: the pooled copies go back.</summary>
        public void Appended() => ReturnCopies();

        /// <summary>The record never made it into a batch.</summary>
        public void Fail(Exception error)
        {
            Promise.TrySetException(error);
            ReturnCopies();
        }

        private void ReturnCopies()
        {
            if (RentedKey is not null)
            {
                ArrayPool<byte>.Shared.Return(RentedKey);
            }

            if (RentedValue is not null)
            {
                ArrayPool<byte>.Shared.Return(RentedValue);
            }
        }
    }
}
