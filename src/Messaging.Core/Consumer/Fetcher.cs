using System.Diagnostics;
using System.Threading.Channels;
using Messaging.Cluster;
using Messaging.Errors;
using Messaging.Threading;
using Microsoft.Extensions.Logging;

namespace Messaging.Consumer;

/// <summary>
/// The consumer's fetch engine: the assigned partitions' cursors, one <see cref="BrokerFetcher"/> per partition leader,
/// the ready queue of fetched data in fetch order, and the buffered-bytes budget that pauses fetching while the
/// application is behind. A maintenance loop resolves start positions (ListOffsets) and follows leaders through metadata.
/// </summary>
/// <remarks>
/// <para>One lock guards the cursors' fetch state; it is taken per request and per response, never per record. Data
/// for a partition is enqueued under that lock in the order it was fetched, and a partition is in at most one request
/// at a time (<see cref="PartitionCursor.InFlight"/>), so a partition's data reaches the queue in offset order even
/// when its leader moves between requests.</para>
/// <para>The consuming side takes entries with <see cref="TakeAsync"/> and hands them back with <see cref="Done"/>,
/// which releases their budget.</para>
/// </remarks>
internal sealed partial class Fetcher : IAsyncDisposable
{
    private readonly ClusterClient _cluster;
    private readonly KafkaConsumerOptions _options;
    private readonly ConsumerPoolsInUse _pools;
    private readonly OffsetLookup _offsetLookup;
    private readonly Lock _lock = new();
    private readonly Dictionary<TopicPartition, PartitionCursor> _cursors = [];
    private readonly Dictionary<int, BrokerFetcher> _brokers = [];
    private readonly Channel<FetchedPartition> _ready = Channel.CreateUnbounded<FetchedPartition>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
    private readonly CancellationTokenSource _stop = new();
    private readonly AsyncSignal _maintenanceSignal = new();
    private readonly Task _maintenance;
    private PartitionCursor[] _all = [];
    private long _bufferedBytes;
    private int _leaderErrors;
    private int _failedFetches;
    private int _disposed;
    private bool _refreshWanted;

    public Fetcher(ClusterClient cluster, KafkaConsumerOptions options, ConsumerPoolsInUse pools)
    {
        _cluster = cluster;
        _options = options;
        _pools = pools;
        _offsetLookup = new OffsetLookup(cluster, options.RetryBackoff);
        Log = new ConsumerLog(options.LoggerFactory.CreateLogger("Messaging.Consumer"));
        _maintenance = MaintainAsync();
    }

    public KafkaConsumerOptions Options => _options;

    public ConsumerLog Log { get; }

    public ConsumerPoolsInUse Pools => _pools;

    public ClusterClient Cluster => _cluster;

    /// <summary>Bytes fetched and not yet consumed.</summary>
    public long BufferedBytes => Volatile.Read(ref _bufferedBytes);

    /// <summary>Partition errors that sent the cursor back to metadata (NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, ...), for tests and diagnostics.</summary>
    public int LeaderErrors => Volatile.Read(ref _leaderErrors);

    /// <summary>Fetches that failed as a whole (connection, timeout, top-level error), for tests and diagnostics.</summary>
    public int FailedFetches => Volatile.Read(ref _failedFetches);

    /// <summary>Fetch requests sent to every broker so far (for tests and diagnostics).</summary>
    public int FetchRequests
    {
        get
        {
            lock (_lock)
            {
                int sum = 0;
                foreach (var broker in _brokers.Values)
                {
                    sum += broker.RequestsSent;
                }

                return sum;
            }
        }
    }

    /// <summary>The broker fetchers by node id (for tests and diagnostics).</summary>
    public int BrokerFetcherCount
    {
        get
        {
            lock (_lock)
            {
                return _brokers.Count;
            }
        }
    }

    /// <summary>Replaces the assignment; every partition starts where its entry says.</summary>
    public void Assign(IEnumerable<TopicPartitionOffset> partitions)
    {
        var topics = new HashSet<string>(StringComparer.Ordinal);
        lock (_lock)
        {
            ThrowIfDisposed();
            var next = new Dictionary<TopicPartition, OffsetSpec>();
            foreach (var entry in partitions)
            {
                ArgumentException.ThrowIfNullOrEmpty(entry.TopicPartition.Topic, nameof(partitions));
                ArgumentOutOfRangeException.ThrowIfNegative(entry.TopicPartition.Partition, nameof(partitions));
                next[entry.TopicPartition] = entry.Start;
                topics.Add(entry.TopicPartition.Topic);
            }

            foreach (var (key, cursor) in _cursors)
            {
                if (!next.ContainsKey(key))
                {
                    cursor.State = CursorState.Removed;
                    cursor.BumpGeneration();
                }
            }

            _cursors.Clear();
            foreach (var (key, start) in next)
            {
                var cursor = new PartitionCursor(key);
                ApplyStart(cursor, start);
                _cursors[key] = cursor;
            }

            _all = [.. _cursors.Values];
        }

        _cluster.Metadata.AddTopics(topics);
        _maintenanceSignal.Set();
        SignalBrokers();
    }

    /// <summary>The assigned partitions.</summary>
    public IReadOnlyList<TopicPartition> Assignment()
    {
        lock (_lock)
        {
            return [.. _cursors.Keys];
        }
    }

    /// <summary>Moves a partition's position; buffered data for it is dropped. A held partition resumes.</summary>
    public void Seek(TopicPartition partition, OffsetSpec start)
    {
        lock (_lock)
        {
            ThrowIfDisposed();
            var cursor = Cursor(partition);
            cursor.BumpGeneration();
            ApplyStart(cursor, start);
        }

        _maintenanceSignal.Set();
        SignalBrokers();
    }

    public void Pause(IEnumerable<TopicPartition> partitions)
    {
        lock (_lock)
        {
            foreach (var partition in partitions)
            {
                var cursor = Cursor(partition);
                if (!cursor.Paused)
                {
                    // Drop what was fetched ahead: nothing more of the partition is delivered while paused.
                    cursor.Paused = true;
                    cursor.BumpGeneration();
                    if (cursor.State == CursorState.Fetching && cursor.Position >= 0)
                    {
                        cursor.FetchOffset = cursor.Position;
                    }
                }
            }
        }
    }

    public void Resume(IEnumerable<TopicPartition> partitions)
    {
        lock (_lock)
        {
            foreach (var partition in partitions)
            {
                Cursor(partition).Paused = false;
            }
        }

        SignalBrokers();
    }

    public IReadOnlyList<TopicPartition> Paused()
    {
        lock (_lock)
        {
            var paused = new List<TopicPartition>();
            foreach (var cursor in _all)
            {
                if (cursor.Paused)
                {
                    paused.Add(cursor.TopicPartition);
                }
            }

            return paused;
        }
    }

    /// <summary>The next offset the application will get for <paramref name="partition"/>, or null while the start position is being looked up.</summary>
    public long? Position(TopicPartition partition)
    {
        lock (_lock)
        {
            var position = Cursor(partition).Position;
            return position >= 0 ? position : null;
        }
    }

    /// <summary>The partition's high watermark as of the last Fetch, or null before one.</summary>
    public long? HighWatermark(TopicPartition partition)
    {
        lock (_lock)
        {
            var value = Cursor(partition).HighWatermark;
            return value >= 0 ? value : null;
        }
    }

    /// <summary>The next fetched data, in fetch order.</summary>
    /// <exception cref="ObjectDisposedException">The consumer was disposed.</exception>
    public async ValueTask<FetchedPartition> TakeAsync(CancellationToken cancellationToken)
    {
        var reader = _ready.Reader;
        while (true)
        {
            if (reader.TryRead(out var chunk))
            {
                return chunk;
            }

            try
            {
                if (!await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    throw KafkaExceptions.Disposed("The consumer");
                }
            }
            catch (ChannelClosedException)
            {
                throw KafkaExceptions.Disposed("The consumer");
            }
        }
    }

    /// <summary>Takes fetched data without waiting, if there is some.</summary>
    public bool TryTake(out FetchedPartition chunk) => _ready.Reader.TryRead(out chunk!);

    /// <summary>
    /// The consumer is done with <paramref name="chunk"/>: its frame reference and its budget are released, and the
    /// object goes back to its pool (the caller must not touch it afterwards).
    /// </summary>
    public void Done(FetchedPartition chunk)
    {
        int bytes = chunk.Bytes;
        chunk.Frame?.Release();
        chunk.Recycle();
        if (bytes > 0)
        {
            long before = Interlocked.Add(ref _bufferedBytes, -bytes) + bytes;
            if (before >= _options.MaxBufferedBytes && before - bytes < _options.MaxBufferedBytes)
            {
                SignalBrokers();
            }
        }
    }

    /// <summary>
    /// Stops a partition at <paramref name="offset"/> after an error the application must see: buffered data is
    /// dropped, the position stays at the offset, and nothing more is fetched until a seek or assign.
    /// </summary>
    public void Hold(PartitionCursor cursor, CursorGeneration generation, long offset, Exception reason)
    {
        Log.PartitionHeld(cursor.TopicPartition, offset, reason.Message);
        lock (_lock)
        {
            if (cursor.Generation != generation || cursor.State == CursorState.Removed)
            {
                return;
            }

            cursor.BumpGeneration();
            cursor.State = CursorState.Held;
            cursor.FetchOffset = offset;
            cursor.Position = offset;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        List<BrokerFetcher> brokers;
        lock (_lock)
        {
            brokers = [.. _brokers.Values];
        }

        foreach (var broker in brokers)
        {
            await broker.DisposeAsync().ConfigureAwait(false);
        }

        try
        {
            await _maintenance.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _ready.Writer.TryComplete();
        while (_ready.Reader.TryRead(out var chunk))
        {
            Done(chunk);
        }

        _maintenanceSignal.Dispose();
        _stop.Dispose();
    }

    // ---- Called by broker fetchers. ----

    /// <summary>
    /// Marks every partition <paramref name="node"/> may fetch now as in flight and lists it in <paramref name="targets"/>.
    /// Returns how long to wait before asking again when there is nothing (infinite: until signalled).
    /// </summary>
    internal TimeSpan CollectTargets(int node, List<FetchTarget> targets)
    {
        targets.Clear();
        if (Volatile.Read(ref _bufferedBytes) >= _options.MaxBufferedBytes)
        {
            return Timeout.InfiniteTimeSpan; // signalled when the consumer frees budget
        }

        long now = Stopwatch.GetTimestamp();
        long nextRetry = long.MaxValue;
        lock (_lock)
        {
            foreach (var cursor in _all)
            {
                if (cursor.Leader != node)
                {
                    continue;
                }

                if (cursor.IsFetchable(now))
                {
                    cursor.InFlight = true;
                    targets.Add(new FetchTarget(cursor, cursor.Generation, cursor.FetchOffset, cursor.LeaderEpoch, cursor.TopicId));
                }
                else if (cursor.State == CursorState.Fetching && !cursor.Paused && !cursor.InFlight && cursor.RetryAt > now)
                {
                    nextRetry = Math.Min(nextRetry, cursor.RetryAt);
                }
            }
        }

        if (targets.Count > 0)
        {
            return TimeSpan.Zero;
        }

        return nextRetry == long.MaxValue
            ? Timeout.InfiniteTimeSpan
            : TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond, (long)((nextRetry - now) * ((double)TimeSpan.TicksPerSecond / Stopwatch.Frequency))));
    }

    /// <summary>A Fetch failed as a whole (connection, timeout, top-level error): its partitions are retried after the backoff.</summary>
    internal void FailFetch(int node, List<FetchTarget> targets, Exception error, bool refreshMetadata)
    {
        Interlocked.Increment(ref _failedFetches);
        Log.FetchFailed(node, targets.Count, error.Message);
        long retryAt = Stopwatch.GetTimestamp() + ToStopwatchTicks(_options.RetryBackoff);
        lock (_lock)
        {
            foreach (var target in targets)
            {
                target.Cursor.InFlight = false;
                target.Cursor.RetryAt = retryAt;
            }
        }

        if (refreshMetadata)
        {
            RequestMetadataRefresh();
        }
    }

    /// <summary>The broker cannot serve Fetch at a version we speak: its partitions are held with that error.</summary>
    internal void FailUnsupported(List<FetchTarget> targets, Exception error)
    {
        lock (_lock)
        {
            foreach (var target in targets)
            {
                var cursor = target.Cursor;
                cursor.InFlight = false;
                if (cursor.Generation == target.Generation && cursor.State == CursorState.Fetching)
                {
                    cursor.State = CursorState.Held;
                    EnqueueError(cursor, target.Generation, new ConsumeException(
                        "Fetching " + cursor.TopicPartition + " is impossible: " + error.Message + " The partition is held.",
                        ConsumeErrorKind.BrokerError, cursor.TopicPartition, target.FetchOffset, ErrorCode.UnsupportedVersion, error));
                }
            }
        }
    }

    internal void RequestMetadataRefresh()
    {
        Volatile.Write(ref _refreshWanted, true);
        _maintenanceSignal.Set();
    }

    internal static long ToStopwatchTicks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    private PartitionCursor Cursor(TopicPartition partition) =>
        _cursors.TryGetValue(partition, out var cursor)
            ? cursor
            : throw new ArgumentException("Partition " + partition + " is not assigned to this consumer.", nameof(partition));

    private static void ApplyStart(PartitionCursor cursor, OffsetSpec start)
    {
        cursor.RetryAt = 0;
        if (start.IsOffset)
        {
            cursor.State = CursorState.Fetching;
            cursor.FetchOffset = start.Value;
            cursor.Position = start.Value;
        }
        else
        {
            cursor.State = CursorState.Resetting;
            cursor.PendingReset = start;
            cursor.Position = -1;
        }
    }

    private void Enqueue(FetchedPartition chunk)
    {
        if (chunk.Bytes > 0)
        {
            Interlocked.Add(ref _bufferedBytes, chunk.Bytes);
        }

        if (!_ready.Writer.TryWrite(chunk))
        {
            Done(chunk); // disposed
        }
    }

    private void SignalBrokers()
    {
        lock (_lock)
        {
            foreach (var broker in _brokers.Values)
            {
                broker.Signal();
            }
        }
    }

    private void ThrowIfDisposed()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            throw KafkaExceptions.Disposed("The consumer");
        }
    }
}
