using System.Diagnostics;
using System.Globalization;
using Messaging.Errors;

namespace Messaging.Connection;

/// <summary>
/// Every connection a client holds: one per broker, made lazily on first use, shared by every caller, replaced
/// after it closes. Connecting to a broker that failed is held back by <see cref="ReconnectBackoff"/>; while a
/// broker is backing off, asking for it fails fast with a retriable <see cref="KafkaConnectionException"/> instead
/// of queuing behind a dead socket. Idle connections close after <c>connections.max.idle.ms</c>.
/// </summary>
/// <remarks>
/// Concurrency: each broker has a <see cref="Slot"/> guarded by its own lock. Concurrent callers for a broker with
/// no connection share one connection attempt (the slot's <c>Connecting</c> task). The fast path — an open
/// connection exists — takes the lock briefly and allocates nothing.
/// </remarks>
internal sealed class BrokerConnections : IAsyncDisposable
{
    private readonly ConnectionSettings _settings;
    private readonly Slot[] _bootstrap;
    private readonly Lock _brokersLock = new();
    private readonly CancellationTokenSource _disposed = new();
    private readonly ITimer _idleSweep;
    private Dictionary<int, Slot> _brokers = [];

    // Brokers that left the metadata (or moved) while requests were in flight on their connection, guarded by
    // _brokersLock: kept open for those answers, closed by the idle sweep once nothing is pending, or at disposal.
    private readonly List<Slot> _leaving = [];
    private int _nextBootstrap;
    private int _isDisposed;
    private int _connectAttempts;

    public BrokerConnections(ConnectionSettings settings, IReadOnlyList<BrokerEndpoint> bootstrap)
    {
        _settings = settings;
        _bootstrap = new Slot[bootstrap.Count];
        for (var i = 0; i < _bootstrap.Length; i++)
        {
            _bootstrap[i] = new Slot(bootstrap[i] with { NodeId = -1 });
        }

        var period = TimeSpan.FromTicks(Math.Clamp(settings.ConnectionsMaxIdle.Ticks / 4, TimeSpan.TicksPerMillisecond * 50, TimeSpan.TicksPerSecond * 30));
        _idleSweep = settings.Clock.Provider.CreateTimer(static state => ((BrokerConnections)state!).OnIdleTimer(), this, period, period);
    }

    /// <summary>Raised (on a pool thread) when a connection to a known broker fails: closes for a reason other than idleness, the broker leaving, or disposal.</summary>
    public event Action<int, Exception>? BrokerDisconnected;

    /// <summary>Counts connection attempts, for tests and diagnostics.</summary>
    public int ConnectAttempts => Volatile.Read(ref _connectAttempts);

    /// <summary>
    /// Replaces the known brokers (from metadata). Connections to brokers that left (or moved) close, each once nothing
    /// is pending on it: one metadata answer may leave out a live broker (briefly fenced, or a lagging broker's view),
    /// and failing the requests in flight on it would have the client retry requests the broker may have applied.
    /// Like the Java client, which closes such connections only when idle.
    /// </summary>
    public void UpdateBrokers(IEnumerable<BrokerEndpoint> brokers)
    {
        List<Slot>? gone = null;
        lock (_brokersLock)
        {
            var next = new Dictionary<int, Slot>();
            foreach (var broker in brokers)
            {
                next[broker.NodeId] = _brokers.TryGetValue(broker.NodeId, out var existing) && existing.Endpoint == broker
                    ? existing
                    : new Slot(broker);
            }

            foreach (var (id, slot) in _brokers)
            {
                if (!next.TryGetValue(id, out var kept) || !ReferenceEquals(kept, slot))
                {
                    (gone ??= []).Add(slot);
                }
            }

            _brokers = next;
        }

        if (gone is null)
        {
            return;
        }

        List<Slot>? busy = null;
        foreach (var slot in gone)
        {
            if (!slot.Retire(LeftReason))
            {
                (busy ??= []).Add(slot);
            }
        }

        if (busy is null)
        {
            return;
        }

        lock (_brokersLock)
        {
            // DisposeAsync marks disposal before it takes this lock to list the slots: either it lists these, or we
            // see it here and close them ourselves (failing their requests, as disposal does).
            if (Volatile.Read(ref _isDisposed) == 0)
            {
                _leaving.AddRange(busy);
                return;
            }
        }

        foreach (var slot in busy)
        {
            slot.OpenConnection()?.Close(LeftReason);
        }
    }

    private const string LeftReason = "the broker left the cluster metadata or moved";

    /// <summary>The broker ids currently known.</summary>
    public bool IsKnown(int nodeId)
    {
        lock (_brokersLock)
        {
            return _brokers.ContainsKey(nodeId);
        }
    }

    /// <summary>The connection to broker <paramref name="nodeId"/>, connecting if needed.</summary>
    /// <exception cref="KafkaConnectionException">The broker is unknown, unreachable, or backing off. Retriable.</exception>
    public ValueTask<BrokerConnection> GetAsync(int nodeId, CancellationToken cancellationToken = default)
    {
        Slot? slot;
        lock (_brokersLock)
        {
            _brokers.TryGetValue(nodeId, out slot);
        }

        if (slot is null)
        {
            return ValueTask.FromException<BrokerConnection>(new KafkaConnectionException(
                "Broker " + nodeId.ToString(CultureInfo.InvariantCulture) + " is not in the cluster metadata. Retriable: refresh metadata.",
                "broker " + nodeId.ToString(CultureInfo.InvariantCulture)));
        }

        return GetAsync(slot, cancellationToken);
    }

    /// <summary>
    /// A connection to any broker: the least-loaded open one if there is one (<see cref="LeastLoadedOpen"/>), else the
    /// bootstrap servers in rotation (the next call starts at the next server), trying each until one connects, and
    /// then the brokers the metadata named. A broker in its reconnect backoff is never tried.
    /// </summary>
    public async ValueTask<BrokerConnection> GetAnyAsync(CancellationToken cancellationToken = default)
    {
        if (LeastLoadedOpen() is { } open)
        {
            return open;
        }

        Exception? last = null;
        var start = Interlocked.Increment(ref _nextBootstrap);
        for (var i = 0; i < _bootstrap.Length; i++)
        {
            var slot = _bootstrap[(int)((uint)(start + i) % (uint)_bootstrap.Length)];
            try
            {
                return await GetAsync(slot, cancellationToken).ConfigureAwait(false);
            }
            catch (KafkaConnectionException ex)
            {
                last = ex;
            }
        }

        // Every bootstrap server failed, but the brokers the metadata named may be up: the bootstrap list may name one
        // broker, the one that is restarting, while its partitions moved to others. Without this, metadata could not
        // be refreshed (and the client could not follow the leaders) until that broker came back. A broker in its
        // reconnect backoff fails fast here; like the bootstrap servers, the next call starts at the next broker, so a
        // broker that does not answer at all does not cost every call its connection setup timeout first.
        Slot[] known;
        lock (_brokersLock)
        {
            known = [.. _brokers.Values];
        }

        for (var i = 0; i < known.Length; i++)
        {
            var slot = known[(int)((uint)(start + i) % (uint)known.Length)];
            try
            {
                return await GetAsync(slot, cancellationToken).ConfigureAwait(false);
            }
            catch (KafkaConnectionException ex)
            {
                last = ex;
            }
        }

        throw new KafkaConnectionException(
            "None of the " + _bootstrap.Length.ToString(CultureInfo.InvariantCulture) + " bootstrap server(s) or "
            + known.Length.ToString(CultureInfo.InvariantCulture) + " known broker(s) could be reached; last: " + last?.Message,
            "bootstrap", last);
    }

    /// <summary>
    /// The open connection with the fewest requests in flight, as the Java client's least-loaded node: a broker answers
    /// a connection in order, so a request sent behind a busy connection's (a Fetch waiting out its max wait) waits for
    /// them. A connection the broker muted with a throttle (KIP-219) holds every request back until the mute ends, so
    /// it is taken only when every open connection is muted: then the one whose mute ends first. The brokers the
    /// metadata named come before the bootstrap servers; an unmuted one with nothing in flight is taken at once. Null
    /// when no connection is open.
    /// </summary>
    private BrokerConnection? LeastLoadedOpen()
    {
        var choice = new LeastLoaded(_settings.Clock.Now);
        lock (_brokersLock)
        {
            foreach (var slot in _brokers.Values)
            {
                if (choice.IsIdle(slot))
                {
                    return choice.Best;
                }
            }
        }

        foreach (var slot in _bootstrap)
        {
            if (choice.IsIdle(slot))
            {
                return choice.Best;
            }
        }

        return choice.Best ?? choice.MutedShortest;
    }

    /// <summary>What <see cref="LeastLoadedOpen"/> found so far: the unmuted connection with the fewest requests in flight, and the muted one whose mute ends first.</summary>
    private struct LeastLoaded(long now)
    {
        private int _fewest = int.MaxValue;
        private long _mutedUntil = long.MaxValue;

        public BrokerConnection? Best { get; private set; }

        public BrokerConnection? MutedShortest { get; private set; }

        /// <summary>Weighs <paramref name="slot"/>'s open connection; true when it is unmuted with nothing in flight.</summary>
        public bool IsIdle(Slot slot)
        {
            if (slot.OpenConnection() is not { } open)
            {
                return false;
            }

            var mutedUntil = open.MutedUntil;
            if (mutedUntil != 0 && now < mutedUntil)
            {
                if (mutedUntil < _mutedUntil)
                {
                    MutedShortest = open;
                    _mutedUntil = mutedUntil;
                }

                return false;
            }

            var pending = open.PendingCount;
            if (pending < _fewest)
            {
                Best = open;
                _fewest = pending;
            }

            return pending == 0;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _isDisposed, 1) != 0)
        {
            return;
        }

        await _disposed.CancelAsync().ConfigureAwait(false);
        await _idleSweep.DisposeAsync().ConfigureAwait(false);
        List<Slot> slots;
        lock (_brokersLock)
        {
            slots = [.. _brokers.Values, .. _bootstrap, .. _leaving];
        }

        foreach (var slot in slots)
        {
            await slot.DisposeAsync().ConfigureAwait(false);
        }

        _disposed.Dispose();
    }

    private ValueTask<BrokerConnection> GetAsync(Slot slot, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _isDisposed) != 0)
        {
            return ValueTask.FromException<BrokerConnection>(KafkaExceptions.Disposed("The client's connections"));
        }

        Task<BrokerConnection> connecting;
        lock (slot.SyncRoot)
        {
            if (slot.Connection is { IsOpen: true } open)
            {
                return ValueTask.FromResult(open);
            }

            if (slot.Connecting is null)
            {
                var now = _settings.Clock.Now;
                if (now < slot.NextAttemptTimestamp)
                {
                    var remaining = _settings.Clock.Between(now, slot.NextAttemptTimestamp);
                    return ValueTask.FromException<BrokerConnection>(KafkaExceptions.InBackoff(slot.Endpoint.DisplayName, remaining, slot.LastFailure));
                }

                slot.Connecting = ConnectAsync(slot);

                // Its failure is its waiters', but they may all have stopped waiting (their tokens fired) before it came,
                // and the slot forgets a failed attempt: observed here, so it is not reported as an unobserved exception.
                _ = slot.Connecting.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }

            connecting = slot.Connecting;
        }

        return new ValueTask<BrokerConnection>(connecting.WaitAsync(cancellationToken));
    }

    private async Task<BrokerConnection> ConnectAsync(Slot slot)
    {
        await Task.Yield(); // leave the slot's lock before doing any work
        Interlocked.Increment(ref _connectAttempts);
        if (slot.HadConnection || slot.ConsecutiveFailures > 0)
        {
            _settings.Metrics.Reconnects.Add(1, _settings.ClientTag); // an attempt after a failure or a lost connection
        }

        BrokerConnection connection;
        try
        {
            connection = await BrokerConnection.ConnectAsync(slot.Endpoint, _settings, _disposed.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            TimeSpan backoff;
            lock (slot.SyncRoot)
            {
                slot.Connecting = null;
                slot.ConsecutiveFailures++;
                slot.LastFailure = ex;
                // A refused login or certificate fails the same way on the next try: wait the longest backoff at once
                // instead of climbing to it, so a wrong password does not hammer the broker.
                backoff = ex is KafkaAuthenticationException
                    ? _settings.ReconnectBackoffMax
                    : ReconnectBackoff.Next(slot.ConsecutiveFailures, _settings.ReconnectBackoff, _settings.ReconnectBackoffMax);
                slot.NextAttemptTimestamp = _settings.Clock.After(backoff);
            }

            _settings.Log.ReconnectBackoff(slot.Endpoint.DisplayName, backoff.TotalMilliseconds, ex.Message);
            throw;
        }

        // The broker may have left the metadata (or moved) while we connected: its slot is then no longer in the pool,
        // so neither the idle sweep nor disposal would ever see this connection. Checked under the slot's lock, which
        // Retire takes too: either the slot keeps the connection before it is retired (and Retire closes it), or the
        // connection is closed here and the caller retries against fresh metadata.
        bool retired;
        lock (slot.SyncRoot)
        {
            slot.Connecting = null;
            retired = slot.Retired;
            if (!retired)
            {
                slot.Connection = connection;
                slot.HadConnection = true;
                slot.ConsecutiveFailures = 0;
                slot.LastFailure = null;
            }
        }

        if (retired)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw new KafkaConnectionException(
                slot.Endpoint.DisplayName + " left the cluster metadata or moved while the client connected to it. Retriable: refresh metadata.",
                slot.Endpoint.DisplayName);
        }

        _ = WatchAsync(slot, connection);
        return connection;
    }

    /// <summary>When a connection closes, forget it; a failure (not idleness or disposal) starts a backoff and is reported.</summary>
    private async Task WatchAsync(Slot slot, BrokerConnection connection)
    {
        await connection.Closed.ConfigureAwait(false);
        var failure = connection.Failure;
        var failed = failure is not null and not ObjectDisposedException && !slot.ClosedIntentionally(connection);
        var backoff = TimeSpan.Zero;
        lock (slot.SyncRoot)
        {
            if (ReferenceEquals(slot.Connection, connection))
            {
                slot.Connection = null;
                if (failed)
                {
                    slot.ConsecutiveFailures++;
                    slot.LastFailure = failure;
                    backoff = ReconnectBackoff.Next(slot.ConsecutiveFailures, _settings.ReconnectBackoff, _settings.ReconnectBackoffMax);
                    slot.NextAttemptTimestamp = _settings.Clock.After(backoff);
                }
            }
        }

        if (backoff > TimeSpan.Zero)
        {
            _settings.Log.ReconnectBackoff(slot.Endpoint.DisplayName, backoff.TotalMilliseconds, failure!.Message);
        }

        await connection.DisposeAsync().ConfigureAwait(false);
        if (failed && slot.Endpoint.NodeId >= 0 && Volatile.Read(ref _isDisposed) == 0)
        {
            BrokerDisconnected?.Invoke(slot.Endpoint.NodeId, failure!);
        }
    }

    /// <summary>The idle sweep's timer callback: nothing may escape it, an exception on a timer thread ends the process.</summary>
    private void OnIdleTimer()
    {
        try
        {
            CloseIdle();
        }
        catch (Exception)
        {
            // Only a plugged-in logger throwing while a close is logged gets here: that connection is closed all the same,
            // and the next sweep looks at the ones this one did not reach.
        }
    }

    private void CloseIdle()
    {
        List<Slot> slots;
        List<Slot>? leaving = null;
        lock (_brokersLock)
        {
            slots = [.. _brokers.Values, .. _bootstrap];
            if (_leaving.Count > 0)
            {
                leaving = [.. _leaving];
            }
        }

        if (leaving is not null)
        {
            // A broker that left: its connection closes as soon as nothing is pending on it, idle or not.
            foreach (var slot in leaving)
            {
                if (slot.CloseIfUnused(LeftReason))
                {
                    lock (_brokersLock)
                    {
                        _leaving.Remove(slot);
                    }
                }
            }
        }

        foreach (var slot in slots)
        {
            var connection = slot.OpenConnection();
            var idle = connection?.IdleTime ?? TimeSpan.Zero;
            if (connection is not null && idle > _settings.ConnectionsMaxIdle)
            {
                // Marked before closing (WatchAsync looks as soon as it closed); the connection decides atomically, and
                // one that a sender took meanwhile stays open and unmarked.
                slot.MarkIntentionalClose(connection);
                if (connection.CloseIfIdle(_settings.ConnectionsMaxIdle))
                {
                    _settings.Log.IdleClosed(connection.Name, idle.TotalMilliseconds);
                }
                else
                {
                    slot.UnmarkIntentionalClose(connection);
                }
            }
        }
    }

    /// <summary>One broker's connection state.</summary>
    private sealed class Slot(BrokerEndpoint endpoint) : IAsyncDisposable
    {
        private BrokerConnection? _intentionallyClosed;

        public Lock SyncRoot { get; } = new();

        public BrokerEndpoint Endpoint { get; } = endpoint;

        public BrokerConnection? Connection { get; set; }

        public Task<BrokerConnection>? Connecting { get; set; }

        public int ConsecutiveFailures { get; set; }

        /// <summary>True once a connection to this broker succeeded: later attempts are reconnects.</summary>
        public bool HadConnection { get; set; }

        public long NextAttemptTimestamp { get; set; }

        public Exception? LastFailure { get; set; }

        public BrokerConnection? OpenConnection()
        {
            lock (SyncRoot)
            {
                return Connection is { IsOpen: true } open ? open : null;
            }
        }

        /// <summary>Remembers that we closed this connection on purpose (idle, broker gone), so its close is no failure.</summary>
        public void MarkIntentionalClose(BrokerConnection connection) => Volatile.Write(ref _intentionallyClosed, connection);

        /// <summary>Takes back <see cref="MarkIntentionalClose"/> for a connection that did not close after all.</summary>
        public void UnmarkIntentionalClose(BrokerConnection connection) => Interlocked.CompareExchange(ref _intentionallyClosed, null, connection);

        public bool ClosedIntentionally(BrokerConnection connection) => ReferenceEquals(Volatile.Read(ref _intentionallyClosed), connection);

        /// <summary>True once the broker left the metadata or moved: the pool no longer holds this slot. Read and written under <see cref="SyncRoot"/>.</summary>
        public bool Retired { get; private set; }

        /// <summary>
        /// Takes the slot out of use: an attempt still under way closes what it makes, and the open connection closes
        /// unless requests are in flight on it. False when it stays open for them (<see cref="CloseIfUnused"/> later).
        /// </summary>
        public bool Retire(string reason)
        {
            lock (SyncRoot)
            {
                Retired = true;
            }

            return CloseIfUnused(reason);
        }

        /// <summary>
        /// Closes the open connection if nothing is pending on it; true when none is left open. Race: the decision is
        /// atomic with senders enqueuing (<see cref="BrokerConnection.CloseIfIdle"/>), so a request is either written
        /// before (and the connection stays for its answer) or fails before a byte of it is written.
        /// </summary>
        public bool CloseIfUnused(string reason)
        {
            if (OpenConnection() is not { } open)
            {
                return true;
            }

            // Marked before closing (WatchAsync looks as soon as it closed), taken back if it stays open.
            MarkIntentionalClose(open);
            if (open.CloseIfIdle(TimeSpan.MinValue, reason))
            {
                return true;
            }

            UnmarkIntentionalClose(open);
            return false;
        }

        public async ValueTask DisposeAsync()
        {
            BrokerConnection? connection;
            Task<BrokerConnection>? connecting;
            lock (SyncRoot)
            {
                connection = Connection;
                connecting = Connecting;
                Connection = null;
            }

            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }

            if (connecting is not null)
            {
                try
                {
                    // The attempt sees the pool's cancellation; whatever it made is disposed here.
                    var late = await connecting.ConfigureAwait(false);
                    await late.DisposeAsync().ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // A connection attempt cut short by disposal has nothing left to release.
                }
            }
        }
    }
}
