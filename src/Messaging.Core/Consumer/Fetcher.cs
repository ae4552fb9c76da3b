using Messaging.Cluster;
using Messaging.Diagnostics;
using Messaging.Errors;
using Microsoft.Extensions.Logging;

namespace Messaging.Consumer;

/// <summary>
/// The consumer's fetch engine, as the consumer sees it: builds the parts and hands each what it uses — the
/// assigned partitions' cursors (<see cref="PartitionCursors"/>), the ready queue and its budget
/// (<see cref="FetchBuffer"/>), one <see cref="BrokerFetcher"/> per partition leader (<see cref="BrokerFetchers"/>),
/// what is made of their responses (<see cref="FetchResponseHandler"/>) and the maintenance loop that follows leaders
/// and looks up start positions (<see cref="FetchMaintenance"/>) — and stops them in order.
/// </summary>
/// <remarks>
/// <para>One lock (<see cref="PartitionCursors.Sync"/>) guards the cursors' fetch state; it is taken per request and
/// per response, never per record. Data for a partition is enqueued under that lock in the order it was fetched, and a
/// partition is in at most one request at a time (<see cref="PartitionCursor.InFlight"/>), so a partition's data
/// reaches the queue in offset order even when its leader moves between requests.</para>
/// <para>The consuming side takes entries with <see cref="TakeAsync"/> and hands them back with <see cref="Done"/>,
/// which releases their budget.</para>
/// </remarks>
internal sealed class Fetcher : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly PartitionCursors _cursors = new();
    private readonly MaintenanceRequests _maintenanceRequests;
    private readonly MetadataRefresher _metadata;
    private readonly FetchBuffer _buffer;
    private readonly FetchResponseHandler _responses;
    private readonly BrokerFetchers _brokers;
    private readonly FetchMaintenance _maintenance;
    private readonly ConsumerLog _log;
    private readonly Lock _trackLock = new();
    private int _disposed;

    public Fetcher(ClusterClient cluster, KafkaConsumerOptions options, ConsumerPoolsInUse pools)
    {
        _metadata = cluster.Metadata;
        var clock = cluster.Settings.Clock;
        _maintenanceRequests = new MaintenanceRequests(clock);
        _log = new ConsumerLog(GuardedLogger.Create(options.LoggerFactory, "Messaging.Consumer"));
        _buffer = new FetchBuffer(options.MaxBufferedBytes, SignalBrokers);
        _responses = new FetchResponseHandler(_cursors, _buffer, _maintenanceRequests, options, _log, clock, WakeBroker);
        var connections = cluster.Connections;
        var responseBuffers = pools.Responses;
        var stop = _stop.Token;
        _brokers = new BrokerFetchers(node => new BrokerFetcher(node, _cursors, _buffer, _responses, connections, responseBuffers, options, _log, clock, stop));
        _maintenance = new FetchMaintenance(_metadata, new OffsetLookup(cluster, options.RetryBackoff), _cursors, _buffer, _brokers, _maintenanceRequests,
            options, _log, clock, stop);
        _metadata.Changed += _maintenanceRequests.Wake; // a leader moved in metadata nobody here asked for: re-route now
    }

    /// <summary>Bytes fetched and not yet consumed.</summary>
    public long BufferedBytes => _buffer.BufferedBytes;

    /// <summary>Partition errors that sent the cursor back to metadata (NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, ...), for tests and diagnostics.</summary>
    public int LeaderErrors => _responses.LeaderErrors;

    /// <summary>Fetches that failed as a whole (connection, timeout, top-level error), for tests and diagnostics.</summary>
    public int FailedFetches => _responses.FailedFetches;

    /// <summary>Fetch requests sent to every broker so far (for tests and diagnostics).</summary>
    public int FetchRequests => _brokers.RequestsSent;

    /// <summary>The broker fetchers started so far (for tests and diagnostics).</summary>
    public int BrokerFetcherCount => _brokers.Count;

    /// <summary>Replaces the assignment; every partition starts where its entry says.</summary>
    public void Assign(IEnumerable<TopicPartitionOffset> partitions)
    {
        ThrowIfDisposed();
        _cursors.Assign(partitions);
        TrackAssignedTopics();
        _maintenanceRequests.Wake();
        SignalBrokers();
    }

    /// <summary>
    /// Adds partitions to the assignment; partitions already assigned keep their position. With
    /// <paramref name="awaitingStart"/>, their start positions are looked up but nothing is fetched until
    /// <see cref="Release"/>. <paramref name="committedEpochs"/> gives the leader epoch a group committed with a start
    /// offset: sent as the first Fetch's last fetched epoch, so a log truncated below the commit is detected.
    /// </summary>
    public void Add(IEnumerable<TopicPartitionOffset> partitions, bool awaitingStart, IReadOnlyDictionary<TopicPartition, int>? committedEpochs = null)
    {
        ThrowIfDisposed();
        _cursors.Add(partitions, awaitingStart, committedEpochs);
        TrackAssignedTopics();
        _maintenanceRequests.Wake();
        SignalBrokers();
    }

    /// <summary>Starts fetching partitions added awaiting their start.</summary>
    public void Release(IEnumerable<TopicPartition> partitions)
    {
        _cursors.Release(partitions);
        SignalBrokers();
    }

    /// <summary>Adds a partition that is held with <paramref name="error"/>, delivered to the application before anything of it.</summary>
    public void AddFailed(TopicPartition partition, ConsumeException error)
    {
        ThrowIfDisposed();
        var (cursor, generation) = _cursors.AddHeld(partition, error);
        TrackAssignedTopics();
        _buffer.EnqueueError(cursor, generation, error);
    }

    /// <summary>Removes partitions; nothing more of them is delivered. Returns their positions (-1 where unknown).</summary>
    public Dictionary<TopicPartition, ConsumedPosition> Remove(IEnumerable<TopicPartition> partitions)
    {
        var positions = _cursors.Remove(partitions);
        TrackAssignedTopics();
        return positions;
    }

    /// <summary>Wakes a consumer waiting for records, so it looks at its group (a failure to surface).</summary>
    public void WakeConsumer() => _buffer.WakeConsumer();

    /// <summary>Every assigned partition's known position, with the leader epoch of what was consumed before it.</summary>
    public List<KeyValuePair<TopicPartition, ConsumedPosition>> Positions() => _cursors.Positions();

    /// <summary>The assigned partitions.</summary>
    public IReadOnlyList<TopicPartition> Assignment() => _cursors.Assignment();

    /// <summary>Moves a partition's position; buffered data for it is dropped. A held partition resumes.</summary>
    public void Seek(TopicPartition partition, OffsetSpec start)
    {
        ThrowIfDisposed();
        _cursors.Seek(partition, start);
        _maintenanceRequests.Wake();
        SignalBrokers();
    }

    public void Pause(IEnumerable<TopicPartition> partitions) => _cursors.Pause(partitions);

    public void Resume(IEnumerable<TopicPartition> partitions)
    {
        _cursors.Resume(partitions, _buffer);
        _maintenanceRequests.Wake(); // a pause may have sent a held partition back to looking up its start
        SignalBrokers();
    }

    public IReadOnlyList<TopicPartition> Paused() => _cursors.Paused();

    /// <summary>The next offset the application will get for <paramref name="partition"/>, or null while the start position is being looked up.</summary>
    public long? Position(TopicPartition partition) => _cursors.Position(partition);

    /// <summary>The partition's high watermark as of the last Fetch, or null before one.</summary>
    public long? HighWatermark(TopicPartition partition) => _cursors.HighWatermark(partition);

    /// <summary>The next fetched data, in fetch order.</summary>
    /// <exception cref="ObjectDisposedException">The consumer was disposed.</exception>
    public ValueTask<FetchedPartition> TakeAsync(CancellationToken cancellationToken) => _buffer.TakeAsync(cancellationToken);

    /// <summary>Takes fetched data without waiting, if there is some.</summary>
    public bool TryTake(out FetchedPartition chunk) => _buffer.TryTake(out chunk);

    /// <summary>
    /// The consumer is done with <paramref name="chunk"/>: its frame reference and its budget are released, and the
    /// object goes back to its pool (the caller must not touch it afterwards).
    /// </summary>
    public void Done(FetchedPartition chunk) => _buffer.Done(chunk);

    /// <summary>
    /// Stops a partition at <paramref name="offset"/> after an error the application must see: buffered data is
    /// dropped, the position stays at the offset, and nothing more is fetched until a seek or assign.
    /// </summary>
    public void Hold(PartitionCursor cursor, CursorGeneration generation, long offset, Exception reason)
    {
        _log.PartitionHeld(cursor.TopicPartition, offset, reason.Message);
        _cursors.Hold(cursor, generation, offset);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _metadata.Changed -= _maintenanceRequests.Wake;
        _metadata.Track(this, []);
        await _stop.CancelAsync().ConfigureAwait(false);
        await _brokers.DisposeAsync().ConfigureAwait(false);
        await _maintenance.WhenStoppedAsync().ConfigureAwait(false);
        _buffer.Close();
        _maintenanceRequests.Dispose();
        _stop.Dispose();
    }

    private void SignalBrokers() => _brokers.SignalAll();

    /// <summary>
    /// The metadata follows the topics of the assignment as it is now, as the Java consumer's follows its
    /// subscription: a topic no partition is assigned of any more leaves its requests. Read and handed over under
    /// one lock, so concurrent changes cannot leave an older set tracked.
    /// </summary>
    private void TrackAssignedTopics()
    {
        lock (_trackLock)
        {
            var topics = new HashSet<string>(StringComparer.Ordinal);
            foreach (var partition in _cursors.Assignment())
            {
                topics.Add(partition.Topic);
            }

            _metadata.Track(this, topics);
        }
    }

    /// <summary>Wakes, and starts on first use, the fetcher of a broker a partition moved to (a read replica, or back to its leader).</summary>
    private void WakeBroker(int node) => _brokers.Get(node).Signal();

    private void ThrowIfDisposed()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            throw KafkaExceptions.Disposed("The consumer");
        }
    }
}
