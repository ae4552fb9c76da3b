using System.Diagnostics;
using Messaging.Cluster;
using Messaging.Connection;
using Messaging.Errors;
using Messaging.Protocol.Messages;
using Microsoft.Extensions.Logging;

namespace Messaging.Producer;

/// <summary>
/// What the producer's parts share and what runs behind them: the cluster client (metadata), a connection pool of
/// its own for Produce requests, the accumulator and its memory pool, the idempotence state, one
/// <see cref="BrokerSender"/> per leader, and a housekeeping loop that follows metadata changes (moving partitions
/// between senders) and expires batches whose delivery timeout passed.
/// </summary>
/// <remarks>
/// Produce requests use their own <see cref="BrokerConnections"/> (one connection per broker, like franz-go's
/// dedicated produce connection): each sender then owns every in-flight slot of its connection, which is what keeps
/// its requests in order on the wire; metadata and InitProducerId go through the cluster client's pool.
/// </remarks>
internal sealed partial class ProducerCore : IDisposable
{
    private static readonly TimeSpan HousekeepingPeriod = TimeSpan.FromMilliseconds(50);

    /// <summary>The pause before asking again for a topic's metadata after the cluster could not be reached.</summary>
    private static readonly TimeSpan MetadataRetryPause = TimeSpan.FromMilliseconds(50);

    private readonly Dictionary<int, BrokerSender> _senders = [];
    private BrokerSender[] _senderList = [];
    private readonly Lock _assignLock = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _initLock = new();
    private readonly Task _housekeeping;
    private ClusterMetadata? _applied;
    private TopicState[]? _appliedTopics;
    private Task? _initializing;
    private Exception? _fatal;
    private volatile bool _aborting;

    public ProducerCore(KafkaProducerOptions options)
    {
        Settings = new ProducerSettings(options);
        Cluster = new ClusterClient(options);
        Connections = new BrokerConnections(Cluster.Settings, BrokerEndpoint.ParseList(options.BootstrapServers));
        Connections.BrokerDisconnected += OnBrokerDisconnected;
        Pool = new BufferPool(Settings.BufferMemory, Settings.BatchSize);
        Accumulator = new RecordAccumulator(Settings, Pool);
        Log = new ProducerLog(options.LoggerFactory.CreateLogger("Messaging.Producer"));
        _housekeeping = HousekeepingAsync();
    }

    public ProducerSettings Settings { get; }

    public ClusterClient Cluster { get; }

    /// <summary>The connections Produce requests go through (the producer's own pool).</summary>
    public BrokerConnections Connections { get; }

    public BufferPool Pool { get; }

    public RecordAccumulator Accumulator { get; }

    public IdempotenceState Idempotence { get; } = new();

    public ProducerLog Log { get; }

    /// <summary>True once closing gave up waiting: every batch still around fails with <see cref="ProduceErrorKind.Disposed"/>.</summary>
    public bool IsAborting => _aborting;

    /// <summary>The error that stopped the producer for good, if any.</summary>
    public Exception? Fatal => Volatile.Read(ref _fatal);

    /// <summary>The senders, one per broker that led a partition (a snapshot array: reading it allocates nothing).</summary>
    public BrokerSender[] Senders => Volatile.Read(ref _senderList);

    /// <summary>
    /// Whether senders may drain now: without idempotence always; with it once a producer id is known — asking for
    /// one (once, in the background) when there is none.
    /// </summary>
    public bool ReadyToSend()
    {
        if (!Settings.Idempotent || Idempotence.Current.IsValid)
        {
            return true;
        }

        lock (_initLock)
        {
            if (_initializing is null && _fatal is null && !_stop.IsCancellationRequested)
            {
                _initializing = InitProducerIdAsync();
            }
        }

        return false;
    }

    /// <summary>A batch whose records were reported leaves the flush registry, wakes its flush waiters, gives its buffer back and is recycled — in that order.</summary>
    public void Release(ProducerBatch batch)
    {
        Accumulator.Unregister(batch);
        batch.MarkDone();
        Pool.Return(batch.Recycle());
    }

    public void WakeAllSenders()
    {
        foreach (var sender in Senders)
        {
            sender.Wake();
        }
    }

    /// <summary>
    /// The topic with its partitions, waiting (up to <paramref name="maxWait"/>) for its first metadata. Metadata
    /// that lists the topic with an error or without partitions is asked for again until the deadline; no wait
    /// inside goes past it.
    /// </summary>
    /// <exception cref="ProduceException">No usable metadata within the time (<see cref="ProduceErrorKind.MetadataTimeout"/>).</exception>
    public async ValueTask<TopicState> EnsureTopicAsync(string topic, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        var state = Accumulator.GetOrAddTopic(topic);
        if (state.HasMetadata)
        {
            return state;
        }

        var started = Stopwatch.GetTimestamp();
        var lastCode = ErrorCode.None;
        Exception? lastError = null;
        var first = true;
        while (true)
        {
            var remaining = maxWait - Stopwatch.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero && !first)
            {
                throw ProducerErrors.MetadataTimeout(topic, Settings.AppendWaitLimit, lastCode, lastError);
            }

            try
            {
                var wait = remaining > TimeSpan.Zero ? remaining : TimeSpan.FromMilliseconds(1);
                var metadata = first
                    ? await Cluster.Metadata.EnsureTopicsAsync([topic], cancellationToken).WaitAsync(wait, cancellationToken).ConfigureAwait(false)
                    : await Cluster.Metadata.RefreshAsync(cancellationToken).WaitAsync(wait, cancellationToken).ConfigureAwait(false);
                if (metadata.Topics.TryGetValue(topic, out var info) && info.Error == ErrorCode.None && info.Partitions.Count > 0)
                {
                    ApplyMetadata(metadata);
                    if (state.HasMetadata)
                    {
                        return state;
                    }
                }

                lastCode = info?.Error ?? ErrorCode.UnknownTopicOrPartition;
            }
            catch (TimeoutException ex)
            {
                lastError = ex;
            }
            catch (KafkaException ex) when (ex is not ProduceException)
            {
                // The cluster is unreachable: ask again shortly (the refresher spaces the requests), never past the deadline.
                lastError = ex;
                var pause = maxWait - Stopwatch.GetElapsedTime(started);
                if (pause > TimeSpan.Zero)
                {
                    await Task.Delay(pause < MetadataRetryPause ? pause : MetadataRetryPause, cancellationToken).ConfigureAwait(false);
                }
            }

            first = false;
        }
    }

    /// <summary>The error the current metadata reports for <paramref name="topic"/> (<see cref="ErrorCode.None"/> when it has none or does not list it).</summary>
    public ErrorCode LastMetadataError(string topic) =>
        Cluster.Metadata.Current.Topics.TryGetValue(topic, out var info) ? info.Error : ErrorCode.None;

    /// <summary>Moves partitions to their leaders' senders after a metadata change.</summary>
    public void ApplyMetadata(ClusterMetadata metadata)
    {
        List<BrokerSender>? started = null;
        lock (_assignLock)
        {
            var topics = Accumulator.Topics;
            if ((ReferenceEquals(metadata, _applied) && ReferenceEquals(topics, _appliedTopics)) || _stop.IsCancellationRequested)
            {
                return; // nothing new: same snapshot, same topics
            }

            _applied = metadata;
            _appliedTopics = topics;
            var endpoints = new List<BrokerEndpoint>(metadata.Brokers.Count);
            foreach (var broker in metadata.Brokers.Values)
            {
                endpoints.Add(new BrokerEndpoint(broker.Host, broker.Port, broker.NodeId));
            }

            Connections.UpdateBrokers(endpoints);
            var byLeader = new Dictionary<int, List<PartitionState>>();
            foreach (var topic in topics)
            {
                if (!metadata.Topics.TryGetValue(topic.Name, out var info) || info.Partitions.Count == 0)
                {
                    continue;
                }

                topic.EnsurePartitions(info.Partitions.Count);
                var partitions = topic.Partitions;
                for (var p = 0; p < partitions.Length && p < info.Partitions.Count; p++)
                {
                    var partition = partitions[p];
                    var leader = info.Partitions[p].Leader;
                    BrokerSender? sender = null;
                    if (metadata.HasRoutableLeader(info.Partitions[p]))
                    {
                        if (!_senders.TryGetValue(leader, out sender))
                        {
                            sender = new BrokerSender(this, leader);
                            _senders[leader] = sender;
                            Volatile.Write(ref _senderList, [.. _senderList, sender]);
                            (started ??= []).Add(sender);
                        }

                        if (!byLeader.TryGetValue(leader, out var list))
                        {
                            byLeader[leader] = list = [];
                        }

                        list.Add(partition);
                    }

                    lock (partition.Sync)
                    {
                        partition.Leader = sender is null ? -1 : leader;
                        partition.Sender = sender;
                    }
                }
            }

            foreach (var (id, sender) in _senders)
            {
                sender.SetPartitions(byLeader.TryGetValue(id, out var list) ? [.. list] : []);
            }
        }

        if (started is not null)
        {
            foreach (var sender in started)
            {
                sender.Start();
            }
        }
    }

    /// <summary>
    /// Waits until every record produced so far is delivered or failed — those still waiting in the lane for
    /// metadata or memory first, then every batch — sending without lingering meanwhile.
    /// </summary>
    public async Task FlushAsync(ProduceLane lane, CancellationToken cancellationToken)
    {
        Accumulator.BeginFlush();
        try
        {
            WakeAllSenders();
            await lane.WhenEmptyAsync(cancellationToken).ConfigureAwait(false);
            var pending = Accumulator.IncompleteBatches();
            if (pending.Count > 0)
            {
                await Task.WhenAll(pending).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            Accumulator.EndFlush();
        }
    }

    /// <summary>
    /// Closes: buffered records (and those waiting in the lane) are sent without lingering for up to
    /// <paramref name="timeout"/>; what is still not delivered then fails with <see cref="ProduceErrorKind.Disposed"/>;
    /// then everything stops. The caller has stopped new calls already.
    /// </summary>
    public async ValueTask CloseAsync(ProduceLane lane, TimeSpan timeout)
    {
        using (var deadline = new CancellationTokenSource(timeout))
        {
            try
            {
                await FlushAsync(lane, deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                // Give up: fail the rest below.
            }
        }

        _aborting = true;
        Accumulator.Close();
        Pool.Close();
        Accumulator.BeginFlush();
        await lane.StopAsync(static entry => ProducerErrors.Disposed(new TopicPartition(entry.Topic, entry.Partition), null)).ConfigureAwait(false);
        FailQueued(static (partition, batch) => ProducerErrors.Disposed(partition.TopicPartition, batch));

        // Closing the produce connections fails whatever is still in flight (it is settled as Disposed).
        await _stop.CancelAsync().ConfigureAwait(false);
        await Connections.DisposeAsync().ConfigureAwait(false);
        foreach (var sender in Senders)
        {
            await sender.DisposeAsync().ConfigureAwait(false);
        }

        FailQueued(static (partition, batch) => ProducerErrors.Disposed(partition.TopicPartition, batch));
        try
        {
            await _housekeeping.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        Task? initializing;
        lock (_initLock)
        {
            initializing = _initializing;
        }

        if (initializing is not null)
        {
            await initializing.ConfigureAwait(false);
        }

        await Cluster.DisposeAsync().ConfigureAwait(false);
    }


    /// <summary>Releases what <see cref="CloseAsync"/> leaves behind (call after it).</summary>
    public void Dispose() => _stop.Dispose();

    private void OnBrokerDisconnected(int nodeId, Exception reason) => Cluster.Metadata.RequestRefresh();

    /// <summary>Fails every batch that is not in flight, in every partition.</summary>
    private void FailQueued(Func<PartitionState, ProducerBatch, ProduceException> error)
    {
        var taken = new List<ProducerBatch>();
        foreach (var topic in Accumulator.Topics)
        {
            foreach (var partition in topic.Partitions)
            {
                taken.Clear();
                lock (partition.Sync)
                {
                    RecordAccumulator.CollectAll(partition, taken);
                    foreach (var batch in taken)
                    {
                        if (Settings.Idempotent)
                        {
                            Idempotence.OnFailed(partition, batch, batch.LastErrorCode, rejectedByBroker: false);
                        }
                    }
                }

                foreach (var batch in taken)
                {
                    batch.Fail(error(partition, batch), Log);
                    Release(batch);
                }
            }
        }
    }

    private async Task HousekeepingAsync()
    {
        await Task.Yield();
        using var timer = new PeriodicTimer(HousekeepingPeriod);
        var expired = new List<ProducerBatch>();
        var token = _stop.Token;
        while (await timer.WaitForNextTickAsync(token).ConfigureAwait(false))
        {
            try
            {
                var current = Cluster.Metadata.Current;
                if (current.Brokers.Count > 0 && (!ReferenceEquals(current, Volatile.Read(ref _applied)) || !ReferenceEquals(Accumulator.Topics, Volatile.Read(ref _appliedTopics))))
                {
                    ApplyMetadata(current);
                }

                var now = Stopwatch.GetTimestamp();
                if (ExpireBatches(now, expired))
                {
                    // Records wait for a partition without a reachable leader: keep asking until the metadata names one
                    // (the refresher coalesces and spaces these requests, 100 ms growing to 1 s while nothing changes).
                    Cluster.Metadata.RequestRefresh();
                }

                foreach (var sender in Senders)
                {
                    sender.ExpireInFlight(now, expired);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.HousekeepingFailed(ex);
            }
        }
    }

    /// <summary>
    /// Fails batches whose delivery timeout passed and that are not in flight (the senders expire their in-flight
    /// ones). Returns whether some partition holds records but has no sender: its leader is unknown, or not in the
    /// broker list.
    /// </summary>
    private bool ExpireBatches(long now, List<ProducerBatch> expired)
    {
        var unroutable = false;
        foreach (var topic in Accumulator.Topics)
        {
            foreach (var partition in topic.Partitions)
            {
                expired.Clear();
                lock (partition.Sync)
                {
                    unroutable |= partition.Sender is null && (partition.Open is not null || partition.Queue.Count > 0);
                    while (partition.Queue.PeekFirst() is { } first && first.DeadlineTicks <= now)
                    {
                        expired.Add(partition.Queue.RemoveFirst());
                        if (Settings.Idempotent)
                        {
                            Idempotence.OnFailed(partition, first, first.LastErrorCode, rejectedByBroker: false);
                        }
                    }

                    if (partition.Queue.Count == 0 && partition.Open is { } open && open.DeadlineTicks <= now)
                    {
                        partition.Open = null;
                        expired.Add(open);
                    }
                }

                foreach (var batch in expired)
                {
                    batch.Fail(ProducerErrors.DeliveryTimeout(partition.TopicPartition, batch, Settings), Log);
                    Release(batch);
                }
            }
        }

        return unroutable;
    }

    private async Task InitProducerIdAsync()
    {
        await Task.Yield();
        var token = _stop.Token;
        var attempt = 0;
        try
        {
            while (!token.IsCancellationRequested)
            {
                attempt++;
                try
                {
                    var connection = await Cluster.GetAnyAsync(token).ConfigureAwait(false);
                    var request = new InitProducerIdRequest
                    {
                        TransactionalId = null,
                        TransactionTimeoutMs = int.MaxValue,
                        ProducerId = -1,
                        ProducerEpoch = -1,
                    };
                    var response = await connection.SendAsync<InitProducerIdRequest, InitProducerIdResponse>(request, token).ConfigureAwait(false);
                    if (response.ErrorCode == ErrorCode.None)
                    {
                        Idempotence.SetProducerId(new ProducerIdAndEpoch(response.ProducerId, response.ProducerEpoch));
                        Log.ProducerIdAssigned(response.ProducerId, response.ProducerEpoch);
                        break;
                    }

                    var error = KafkaExceptions.BrokerError(response.ErrorCode, ApiKey.InitProducerId, connection.Name);
                    if (!error.IsRetriable)
                    {
                        SetFatal(error);
                        break;
                    }

                    Log.InitProducerIdRetry(error.Message);
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    break;
                }
                catch (UnsupportedApiVersionException ex)
                {
                    SetFatal(ex);
                    break;
                }
                catch (KafkaException ex)
                {
                    Log.InitProducerIdRetry(ex.Message);
                }

                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(Settings.RetryBackoffMax.TotalMilliseconds, Settings.RetryBackoff.TotalMilliseconds * attempt)), token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        finally
        {
            lock (_initLock)
            {
                _initializing = null;
            }

            WakeAllSenders();
        }
    }

    private void SetFatal(Exception error)
    {
        Volatile.Write(ref _fatal, error);
        FailQueued((partition, _) => ProducerErrors.Fatal(partition.TopicPartition, error));
    }
}
