using Messaging.Connection;
using Messaging.Errors;
using Messaging.Protocol.Messages;
using Messaging.Threading;

namespace Messaging.Cluster;

/// <summary>
/// Keeps the client's <see cref="ClusterMetadata"/> current: refreshes every <c>metadata.max.age.ms</c>, on demand
/// when a caller saw stale metadata (NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE,
/// FENCED_LEADER_EPOCH) or a broker connection failed, and when a caller needs topics it does not know yet; after a
/// refresh failed, again after the backoff until one succeeds.
/// </summary>
/// <remarks>
/// <para>One loop does every refresh, so concurrent requests coalesce: whoever asks while a refresh is queued joins
/// it; whoever asks while one is running gets the next. Each refresh asks for every topic of interest.</para>
/// <para>Storm control: on-demand refreshes are spaced by a backoff that starts at <see cref="MinRefreshInterval"/>
/// and doubles, up to <see cref="MaxRefreshInterval"/>, while refreshes fail or return nothing new (during an outage
/// the metadata does not change until the cluster recovers), and resets once the metadata changes.</para>
/// </remarks>
internal sealed class MetadataRefresher : IAsyncDisposable
{
    public static readonly TimeSpan MinRefreshInterval = TimeSpan.FromMilliseconds(100);
    public static readonly TimeSpan MaxRefreshInterval = TimeSpan.FromSeconds(1);

    private readonly BrokerConnections _connections;
    private readonly ConnectionSettings _settings;
    private readonly TimeSpan _maxAge;
    private readonly bool _allowAutoCreate;
    private readonly Lock _lock = new();
    private readonly HashSet<string> _topics = new(StringComparer.Ordinal);
    private readonly Dictionary<object, HashSet<string>?> _tracked = new(ReferenceEqualityComparer.Instance); // by owner; null: every topic
    private readonly AsyncSignal _wake;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private TaskCompletionSource<ClusterMetadata>? _next;
    private ClusterMetadata _current = ClusterMetadata.Empty;
    private bool _disposed;
    private int _requests;

    public MetadataRefresher(BrokerConnections connections, ConnectionSettings settings, TimeSpan maxAge, bool allowAutoCreate)
    {
        _connections = connections;
        _settings = settings;
        _maxAge = maxAge;
        _allowAutoCreate = allowAutoCreate;
        _wake = new AsyncSignal(settings.Clock);
        _connections.BrokerDisconnected += OnBrokerDisconnected;
        _loop = RunAsync();
    }

    /// <summary>
    /// Raised (on the refresh loop) after a refresh changed brokers, controller or some partition's leader or epoch —
    /// whoever asked for it, or none (the periodic refresh, one after a lost connection): users that route by leader
    /// re-route then, not at their next own look.
    /// </summary>
    public event Action? Changed;

    /// <summary>The newest snapshot.</summary>
    public ClusterMetadata Current => Volatile.Read(ref _current);

    /// <summary>Metadata requests sent so far (for tests and diagnostics).</summary>
    public int RequestsSent => Volatile.Read(ref _requests);

    /// <summary>Adds topics to every future refresh.</summary>
    public void AddTopics(IEnumerable<string> topics)
    {
        lock (_lock)
        {
            foreach (var topic in topics)
            {
                _topics.Add(topic);
            }
        }
    }

    /// <summary>
    /// Stops asking for topics (deleted ones, or ones the producer no longer produces to): a refresh naming them would
    /// recreate them where the broker auto-creates topics. They leave the current snapshot too, unless an owner still
    /// tracks them (<see cref="Track"/>), so whoever needs one again (<see cref="EnsureTopicsAsync"/>) fetches its
    /// metadata afresh.
    /// </summary>
    public void RemoveTopics(IEnumerable<string> topics)
    {
        lock (_lock)
        {
            var removed = new List<string>();
            foreach (var topic in topics)
            {
                _topics.Remove(topic);
                removed.Add(topic);
            }

            ForgetUnwanted(removed);
        }
    }

    /// <summary>
    /// Sets the topics <paramref name="owner"/> needs in every future refresh, replacing what it tracked before (the
    /// consumer: its assignment, its subscription); null asks for every topic in the cluster, an empty set releases
    /// the owner. Topics no owner needs any more leave later requests and the current snapshot, as after
    /// <see cref="RemoveTopics"/>.
    /// </summary>
    public void Track(object owner, IReadOnlyCollection<string>? topics)
    {
        lock (_lock)
        {
            _tracked.TryGetValue(owner, out var before);
            if (topics is { Count: 0 })
            {
                _tracked.Remove(owner);
            }
            else
            {
                _tracked[owner] = topics is null ? null : new HashSet<string>(topics, StringComparer.Ordinal);
            }

            if (before is not null)
            {
                ForgetUnwanted(before);
            }
        }
    }

    /// <summary>Requests a refresh soon (coalesced, backed off) without waiting for it.</summary>
    public void RequestRefresh() => _ = NextRefresh();

    /// <summary>Waits for a refresh that starts after this call, and returns its snapshot.</summary>
    /// <exception cref="KafkaException">The refresh failed (every broker unreachable, or an error response).</exception>
    public Task<ClusterMetadata> RefreshAsync(CancellationToken cancellationToken = default) => NextRefresh().WaitAsync(cancellationToken);

    /// <summary>
    /// Asks any broker for <paramref name="topics"/> in a Metadata request of their own, and returns its answer: a
    /// one-off look (an admin describe or offset lookup) that neither adds the topics to later refreshes nor publishes
    /// the answer as <see cref="Current"/>; only the brokers it names become reachable, so requests can go to the
    /// leaders it names. Concurrent looks at the same topic are independent requests.
    /// </summary>
    /// <exception cref="KafkaException">The request failed (every broker unreachable, or an answer naming no brokers).</exception>
    public async Task<ClusterMetadata> FetchTopicsAsync(IEnumerable<string> topics, CancellationToken cancellationToken = default)
    {
        var snapshot = await FetchAsync(RequestFor(new HashSet<string>(topics, StringComparer.Ordinal)), cancellationToken).ConfigureAwait(false);
        UseBrokers(snapshot);
        return snapshot;
    }

    /// <summary>Refreshes now if any of <paramref name="topics"/> is missing from the current snapshot; returns the snapshot that has them.</summary>
    public Task<ClusterMetadata> EnsureTopicsAsync(IReadOnlyCollection<string> topics, CancellationToken cancellationToken = default)
    {
        AddTopics(topics);
        return EnsureTrackedAsync(topics, cancellationToken);
    }

    /// <summary>
    /// As <see cref="EnsureTopicsAsync"/>, without adding <paramref name="topics"/> to later refreshes: the caller
    /// tracks them (<see cref="Track"/>) for as long as it needs them.
    /// </summary>
    public async Task<ClusterMetadata> EnsureTrackedAsync(IReadOnlyCollection<string> topics, CancellationToken cancellationToken = default)
    {
        var current = Current;
        foreach (var topic in topics)
        {
            if (!current.Topics.ContainsKey(topic))
            {
                return await RefreshAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        return current;
    }

    public async ValueTask DisposeAsync()
    {
        _connections.BrokerDisconnected -= OnBrokerDisconnected;
        await _stop.CancelAsync().ConfigureAwait(false);
        await BackgroundLoop.StoppedAsync(_loop).ConfigureAwait(false);

        lock (_lock)
        {
            // From here on NextRefresh fails at once: a refresh queued after this would wait for a loop that stopped.
            _disposed = true;
            Fail(_next, KafkaExceptions.Disposed("The metadata refresher"));
            _next = null;
        }

        _wake.Dispose();
        _stop.Dispose();
    }

    private Task<ClusterMetadata> NextRefresh()
    {
        Task<ClusterMetadata> task;
        lock (_lock)
        {
            if (_disposed)
            {
                // Observed at once for the same reason as Fail: RequestRefresh drops it; an awaiting caller still gets it.
                var disposed = Task.FromException<ClusterMetadata>(KafkaExceptions.Disposed("The metadata refresher"));
                _ = disposed.Exception;
                return disposed;
            }

            _next ??= new TaskCompletionSource<ClusterMetadata>(TaskCreationOptions.RunContinuationsAsynchronously);
            task = _next.Task;
        }

        _wake.Set(); // any number of requests before the loop looks wake it once

        return task;
    }

    private void OnBrokerDisconnected(int nodeId, Exception reason) => RequestRefresh();

    private async Task RunAsync()
    {
        var backoff = MinRefreshInterval;
        var lastRefresh = long.MinValue;
        var failed = false;
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            // Sleep until asked, or until the metadata is max.age old. After a failed refresh the metadata is already
            // older than it should be and whoever asked may not ask again (a refresh asked for without waiting, the
            // periodic one): the next refresh goes after the backoff below, until one succeeds, as the Java client does.
            await _wake.WaitAsync(failed ? TimeSpan.Zero : _maxAge, token).ConfigureAwait(false);
            token.ThrowIfCancellationRequested();

            // Space refreshes by the current backoff, so repeated requests cannot turn into a storm.
            if (lastRefresh != long.MinValue)
            {
                var wait = backoff - _settings.Clock.Since(lastRefresh);
                if (wait > TimeSpan.Zero)
                {
                    await _settings.Clock.Delay(wait, token).ConfigureAwait(false);
                }
            }

            TaskCompletionSource<ClusterMetadata>? waiters;
            lock (_lock)
            {
                waiters = _next;
                _next = null;
            }

            lastRefresh = _settings.Clock.Now;
            try
            {
                MetadataRequest request;
                lock (_lock)
                {
                    request = AllTopicsLocked() ? new MetadataRequest { Topics = null, AllowAutoTopicCreation = _allowAutoCreate } : RequestFor(WantedLocked());
                }

                var snapshot = await FetchAsync(request, token).ConfigureAwait(false);
                var changed = Apply(snapshot);
                failed = false;
                backoff = changed ? MinRefreshInterval : Grow(backoff);
                waiters?.TrySetResult(Current);
                if (changed)
                {
                    Changed?.Invoke();
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                Fail(waiters, KafkaExceptions.Disposed("The metadata refresher"));
                throw;
            }
            catch (Exception ex)
            {
                failed = true;
                backoff = Grow(backoff);
                Fail(waiters, ex);
            }
        }
    }

    /// <summary>
    /// Fails a refresh's waiters. The task may have none: <see cref="RequestRefresh"/> asks without waiting. Reading
    /// <see cref="Task.Exception"/> marks the failure observed (allocation-free), so such a refresh does not raise
    /// <see cref="TaskScheduler.UnobservedTaskException"/> when collected; waiters that await still get the failure.
    /// </summary>
    private static void Fail(TaskCompletionSource<ClusterMetadata>? waiters, Exception error)
    {
        if (waiters is not null && waiters.TrySetException(error))
        {
            _ = waiters.Task.Exception;
        }
    }

    private static TimeSpan Grow(TimeSpan backoff) => TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxRefreshInterval.Ticks));

    /// <summary>A Metadata request naming <paramref name="topics"/> (each once: the set holds them so).</summary>
    private MetadataRequest RequestFor(HashSet<string> topics)
    {
        var named = new MetadataRequest.MetadataRequestTopic[topics.Count];
        var i = 0;
        foreach (var topic in topics)
        {
            named[i++] = new MetadataRequest.MetadataRequestTopic { Name = topic };
        }

        return new MetadataRequest { Topics = named, AllowAutoTopicCreation = _allowAutoCreate };
    }

    private async Task<ClusterMetadata> FetchAsync(MetadataRequest request, CancellationToken cancellationToken)
    {
        var connection = await _connections.GetAnyAsync(cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _requests);
        var response = await connection.SendAsync<MetadataRequest, MetadataResponse>(request, cancellationToken).ConfigureAwait(false);

        // A broker starting up answers before it knows the cluster: no brokers, its topics unknown. That is no news about
        // the cluster (the Java client ignores it too): applied, every broker would leave and every partition lose its leader.
        if (response.Brokers.Length == 0)
        {
            throw KafkaExceptions.MetadataWithoutBrokers(connection.Name);
        }

        return Build(response);
    }

    private ClusterMetadata Build(MetadataResponse response)
    {
        var brokers = new Dictionary<int, BrokerInfo>(response.Brokers.Length);
        foreach (var broker in response.Brokers)
        {
            brokers[broker.NodeId] = new BrokerInfo(broker.NodeId, broker.Host, broker.Port, broker.Rack);
        }

        var topics = new Dictionary<string, TopicInfo>(response.Topics.Length, StringComparer.Ordinal);
        foreach (var topic in response.Topics)
        {
            if (topic.Name is null)
            {
                continue; // a topic-id-only answer; this client addresses topics by name
            }

            var partitions = new PartitionInfo[topic.Partitions.Length];
            foreach (var partition in topic.Partitions)
            {
                if ((uint)partition.PartitionIndex < (uint)partitions.Length)
                {
                    partitions[partition.PartitionIndex] = new PartitionInfo(
                        partition.PartitionIndex, partition.LeaderId, partition.LeaderEpoch,
                        partition.ReplicaNodes, partition.IsrNodes, partition.OfflineReplicas, partition.ErrorCode);
                }
            }

            for (var p = 0; p < partitions.Length; p++)
            {
                // A broker that skipped an index is answering inconsistently: treat the partition as leaderless.
                partitions[p] ??= new PartitionInfo(p, -1, -1, [], [], [], ErrorCode.LeaderNotAvailable);
            }

            topics[topic.Name] = new TopicInfo(topic.Name, topic.TopicId, topic.IsInternal, partitions, topic.ErrorCode);
        }

        return new ClusterMetadata(response.ClusterId, response.ControllerId, brokers, topics, _settings.Clock.Provider.GetUtcNow());
    }

    /// <summary>True when some owner needs every topic (a pattern subscription). Under <see cref="_lock"/>.</summary>
    private bool AllTopicsLocked() => _tracked.ContainsValue(null);

    /// <summary>Every topic added or tracked by some owner. Under <see cref="_lock"/>.</summary>
    private HashSet<string> WantedLocked()
    {
        var wanted = new HashSet<string>(_topics, StringComparer.Ordinal);
        foreach (var topics in _tracked.Values)
        {
            wanted.UnionWith(topics!);
        }

        return wanted;
    }

    /// <summary>
    /// Takes those of <paramref name="topics"/> nobody asks for any more out of the current snapshot (unless every
    /// topic is asked for). Under <see cref="_lock"/>.
    /// </summary>
    private void ForgetUnwanted(IEnumerable<string> topics)
    {
        if (AllTopicsLocked())
        {
            return;
        }

        var wanted = WantedLocked();
        var current = Current;
        Dictionary<string, TopicInfo>? kept = null;
        foreach (var topic in topics)
        {
            if (!wanted.Contains(topic) && current.Topics.ContainsKey(topic))
            {
                kept ??= new Dictionary<string, TopicInfo>(current.Topics, StringComparer.Ordinal);
                kept.Remove(topic);
            }
        }

        if (kept is not null)
        {
            Volatile.Write(ref _current, new ClusterMetadata(current.ClusterId, current.ControllerId, current.Brokers, kept, current.FetchedAt));
        }
    }

    /// <summary>
    /// Publishes <paramref name="fresh"/>, except partitions whose leader epoch went backwards (a lagging broker's
    /// view) while the topic id stayed the same: those keep the newer information we already had. Topics nobody asks
    /// for any more (removed or no longer tracked while the request was in flight) are left out: they stay removed,
    /// unless every topic is asked for now. Returns whether anything changed.
    /// </summary>
    private bool Apply(ClusterMetadata fresh)
    {
        ClusterMetadata previous;
        ClusterMetadata snapshot;
        lock (_lock)
        {
            // Under the lock RemoveTopics and Track take: a removal is either in the snapshot read here or sees the one published.
            previous = Current;
            snapshot = Merge(previous, fresh, AllTopicsLocked() ? null : WantedLocked());
            Volatile.Write(ref _current, snapshot);
        }

        var changed = !SameLayout(previous, snapshot);
        UseBrokers(snapshot);
        if (changed)
        {
            _settings.Log.MetadataChanged(snapshot.Brokers.Count, snapshot.Topics.Count, snapshot.ControllerId);
        }

        return changed;
    }

    /// <summary>
    /// <paramref name="fresh"/> with each partition whose epoch went backwards against <paramref name="previous"/>
    /// kept as it was, and without the topics not in <paramref name="wanted"/> (when given).
    /// </summary>
    private static ClusterMetadata Merge(ClusterMetadata previous, ClusterMetadata fresh, HashSet<string>? wanted)
    {
        var topics = new Dictionary<string, TopicInfo>(fresh.Topics.Count, StringComparer.Ordinal);
        foreach (var (name, topic) in fresh.Topics)
        {
            if (wanted is not null && !wanted.Contains(name))
            {
                continue; // removed since the request named it
            }

            // Epochs compare within one topic only: a topic deleted and created again under the same name has a new
            // topic id and starts its epochs over, so its lower epochs are news, not a lagging broker's view (without
            // ids, from a broker that has none, the name is all we can go by). Partition by partition, as the Java client
            // does, also when the partition count differs: a lagging broker may not know partitions added since.
            if (previous.Topics.TryGetValue(name, out var old)
                && (old.TopicId == topic.TopicId || old.TopicId == Guid.Empty || topic.TopicId == Guid.Empty))
            {
                PartitionInfo[]? merged = null;
                for (var p = 0; p < Math.Min(topic.Partitions.Count, old.Partitions.Count); p++)
                {
                    var now = topic.Partitions[p];
                    var then = old.Partitions[p];
                    if (now.LeaderEpoch >= 0 && then.LeaderEpoch > now.LeaderEpoch)
                    {
                        merged ??= [.. topic.Partitions];
                        merged[p] = then;
                    }
                }

                topics[name] = merged is null ? topic : topic with { Partitions = merged };
            }
            else
            {
                topics[name] = topic;
            }
        }

        return new ClusterMetadata(fresh.ClusterId, fresh.ControllerId, fresh.Brokers, topics, fresh.FetchedAt);
    }

    /// <summary>Makes the snapshot's brokers the ones the client connects to by node id.</summary>
    private void UseBrokers(ClusterMetadata snapshot)
    {
        var endpoints = new List<BrokerEndpoint>(snapshot.Brokers.Count);
        foreach (var broker in snapshot.Brokers.Values)
        {
            endpoints.Add(new BrokerEndpoint(broker.Host, broker.Port, broker.NodeId));
        }

        _connections.UpdateBrokers(endpoints);
    }

    /// <summary>True when brokers, controller and every partition's leader and epoch are the same.</summary>
    private static bool SameLayout(ClusterMetadata a, ClusterMetadata b)
    {
        if (a.ControllerId != b.ControllerId || a.Brokers.Count != b.Brokers.Count || a.Topics.Count != b.Topics.Count)
        {
            return false;
        }

        foreach (var (id, broker) in a.Brokers)
        {
            if (!b.Brokers.TryGetValue(id, out var other) || other != broker)
            {
                return false;
            }
        }

        foreach (var (name, topic) in a.Topics)
        {
            if (!b.Topics.TryGetValue(name, out var other) || other.Error != topic.Error || other.Partitions.Count != topic.Partitions.Count)
            {
                return false;
            }

            for (var p = 0; p < topic.Partitions.Count; p++)
            {
                if (topic.Partitions[p].Leader != other.Partitions[p].Leader || topic.Partitions[p].LeaderEpoch != other.Partitions[p].LeaderEpoch)
                {
                    return false;
                }
            }
        }

        return true;
    }
}
