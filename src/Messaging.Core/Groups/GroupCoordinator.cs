using Messaging.Cluster;
using Messaging.Connection;
using Messaging.Diagnostics;
using Messaging.Errors;
using Messaging.Protocol;
using Messaging.Protocol.Messages;

namespace Messaging.Groups;

/// <summary>
/// Finds a group's coordinator (FindCoordinator, key type group) and keeps a connection to it for the group's
/// requests: membership (JoinGroup, SyncGroup, Heartbeat, LeaveGroup, ConsumerGroupHeartbeat) and offsets.
/// </summary>
/// <remarks>
/// <para>The connection is the group's own, not the client's shared one to that broker: the Java client does the
/// same (it addresses the coordinator as node <c>Integer.MAX_VALUE - id</c>) because a JoinGroup is held by the
/// coordinator until the rebalance completes, and a broker answers one connection's requests in order — on the
/// shared connection, a rebalance would stall every fetch from that broker behind it.</para>
/// <para>Discovery: one lookup at a time, shared by every caller that needs the coordinator. It asks any broker,
/// at the FindCoordinator version negotiated with it (v4+ batches keys, v3 carries one), and retries retriable
/// failures (COORDINATOR_NOT_AVAILABLE while the group's partition has no leader, unreachable brokers) with
/// exponential backoff until it succeeds, fails for good (GROUP_AUTHORIZATION_FAILED), or the caller gives up.</para>
/// <para>Moves: a response with NOT_COORDINATOR or COORDINATOR_NOT_AVAILABLE, or a failed connection, makes the
/// caller call <see cref="MarkUnknown"/>; the connection is closed (as the Java client disconnects, so nothing
/// stays in flight to a broker that is no longer the coordinator) and the next request rediscovers.</para>
/// </remarks>
internal sealed class GroupCoordinator : IAsyncDisposable
{
    private readonly ClusterClient _cluster;
    private readonly GroupMemberSettings _settings;
    private readonly GroupLog _log;
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _disposed = new();
    private Task<BrokerConnection>? _discovery;
    private BrokerConnection? _connection;
    private int _lookups;
    private int _isDisposed;

    public GroupCoordinator(ClusterClient cluster, GroupMemberSettings settings)
    {
        _cluster = cluster;
        _settings = settings;
        _log = new GroupLog(GuardedLogger.Create(settings.LoggerFactory, "Messaging.Groups"));
    }

    public string GroupId => _settings.GroupId;

    public GroupMemberSettings Settings => _settings;

    /// <summary>The client this coordinator's lookups go through (metadata resolves KIP-848 topic ids).</summary>
    public ClusterClient Cluster => _cluster;

    internal GroupLog Log => _log;

    /// <summary>FindCoordinator requests sent so far (tests, diagnostics).</summary>
    public int Lookups => Volatile.Read(ref _lookups);

    /// <summary>The coordinator's node id while a connection to it is open, else -1.</summary>
    public int CoordinatorId
    {
        get
        {
            lock (_lock)
            {
                return _connection is { IsOpen: true } open ? open.Endpoint.NodeId : -1;
            }
        }
    }

    /// <summary>The open connection to the coordinator, or null while it is unknown.</summary>
    public BrokerConnection? Current
    {
        get
        {
            lock (_lock)
            {
                return _connection is { IsOpen: true } open ? open : null;
            }
        }
    }

    /// <summary>The connection to the coordinator, discovering it first if it is unknown.</summary>
    /// <exception cref="KafkaGroupException">The lookup failed for good (authorization, an invalid group id).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> ended the wait.</exception>
    public async ValueTask<BrokerConnection> GetConnectionAsync(CancellationToken cancellationToken)
    {
        Task<BrokerConnection> discovery;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_isDisposed != 0, this);
            if (_connection is { IsOpen: true } open)
            {
                return open;
            }

            _connection = null;
            _discovery ??= DiscoverAsync();
            discovery = _discovery;
        }

        return await discovery.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Forgets the coordinator behind <paramref name="connection"/> (an error response or a failure on it) and closes
    /// that connection. Does nothing if the coordinator has already been replaced.
    /// </summary>
    public void MarkUnknown(BrokerConnection connection, string reason)
    {
        lock (_lock)
        {
            if (!ReferenceEquals(_connection, connection))
            {
                return;
            }

            _connection = null;
        }

        _log.CoordinatorUnknown(GroupId, connection.Name, reason);
        connection.Close("the group coordinator moved or failed: " + reason);
    }

    /// <summary>
    /// Sends one request to the coordinator and maps its response with <paramref name="read"/> while the response
    /// frame is alive (bytes fields are slices of it: <paramref name="read"/> copies what it keeps). A failed
    /// connection or timeout marks the coordinator unknown and is rethrown (retriable).
    /// </summary>
    public async Task<TResult> SendAsync<TRequest, TResponse, TResult>(
        BrokerConnection connection, TRequest request, short version, TimeSpan timeout, Func<TResponse, TResult> read, CancellationToken cancellationToken)
        where TRequest : IKafkaRequest<TRequest, TResponse>
        where TResponse : IKafkaResponse<TResponse>
    {
        ResponseFrame frame;
        try
        {
            frame = await connection.SendAsync(request, version, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is KafkaConnectionException or KafkaTimeoutException or ObjectDisposedException && Volatile.Read(ref _isDisposed) == 0)
        {
            MarkUnknown(connection, ex.Message);
            throw ex as KafkaException ?? KafkaExceptions.ConnectionLost(TRequest.ApiKey, connection.Name, ex);
        }

        using (frame)
        {
            TResponse response;
            try
            {
                response = ResponseDecoder.Decode<TResponse>(frame, version, connection.Limits);
            }
            catch (KafkaProtocolException ex)
            {
                var error = KafkaExceptions.UndecodableResponse(TRequest.ApiKey, version, connection.Name, ex);
                connection.CloseBecause(error);
                MarkUnknown(connection, error.Message);
                throw error;
            }

            if (response is IThrottledResponse { ThrottleTimeMs: > 0 } throttled)
            {
                connection.ReportThrottle(TRequest.ApiKey, throttled.ThrottleTimeMs);
            }

            return read(response);
        }
    }

    /// <summary>True for errors that mean "find the coordinator again".</summary>
    public static bool MeansCoordinatorMoved(ErrorCode code) => code is ErrorCode.NotCoordinator or ErrorCode.CoordinatorNotAvailable;

    public async ValueTask DisposeAsync()
    {
        BrokerConnection? connection;
        Task<BrokerConnection>? discovery;
        lock (_lock)
        {
            if (_isDisposed != 0)
            {
                return;
            }

            _isDisposed = 1;
            connection = _connection;
            discovery = _discovery;
            _connection = null;
        }

        await _disposed.CancelAsync().ConfigureAwait(false);
        if (discovery is not null)
        {
            try
            {
                connection ??= await discovery.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // A lookup cut short by disposal holds nothing.
            }
        }

        if (connection is not null)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }

        _disposed.Dispose();
    }

    private async Task<BrokerConnection> DiscoverAsync()
    {
        await Task.Yield(); // leave the caller's lock before any work
        var token = _disposed.Token;
        var failures = 0;
        try
        {
            while (true)
            {
                try
                {
                    var endpoint = await LookupAsync(token).ConfigureAwait(false);
                    var started = _settings.Time.GetTimestamp();
                    BrokerConnection connection;
                    try
                    {
                        connection = await BrokerConnection.ConnectAsync(endpoint, _cluster.Settings, token).ConfigureAwait(false);
                    }
#pragma warning disable CA1031 // A plugged-in transport may throw what no socket does: the coordinator is unreachable for now, not gone for good.
                    catch (Exception ex) when (ex is not KafkaException and not OperationCanceledException && !token.IsCancellationRequested)
#pragma warning restore CA1031
                    {
                        // Rethrown as a failed connection, so it is retried below; escaping as is, it ended the member's
                        // loop that was waiting for the coordinator, which then never joined or heartbeated again.
                        throw KafkaExceptions.ConnectFailed(endpoint.DisplayName, _settings.Time.GetElapsedTime(started), ex);
                    }

                    lock (_lock)
                    {
                        if (_isDisposed != 0)
                        {
                            _discovery = null;
                            connection.Close("the group coordinator client was disposed");
                            throw KafkaExceptions.Disposed("The group coordinator client");
                        }

                        _connection = connection;
                        _discovery = null;
                    }

                    _log.CoordinatorFound(GroupId, connection.Name);
                    return connection;
                }
                catch (KafkaException ex) when (ex.IsRetriable && !token.IsCancellationRequested)
                {
                    failures++;
                    var backoff = ReconnectBackoff.Next(failures, _settings.RetryBackoff, _settings.RetryBackoffMax);
                    _log.CoordinatorLookupFailed(GroupId, backoff.TotalMilliseconds, ex.Message);
                    await Task.Delay(backoff, _settings.Time, token).ConfigureAwait(false);
                }
            }
        }
        catch
        {
            lock (_lock)
            {
                _discovery = null;
            }

            throw;
        }
    }

    /// <summary>One FindCoordinator round trip to any broker: the coordinator's endpoint, or a typed error.</summary>
    private async Task<BrokerEndpoint> LookupAsync(CancellationToken cancellationToken)
    {
        var broker = await _cluster.GetAnyAsync(cancellationToken).ConfigureAwait(false);
        var version = broker.ApiVersions.VersionFor(ApiKey.FindCoordinator);
        const sbyte groupKeyType = 0; // 0 = group, 1 = transaction
        var request = version >= 4
            ? new FindCoordinatorRequest { KeyType = groupKeyType, CoordinatorKeys = [GroupId] }
            : new FindCoordinatorRequest { KeyType = groupKeyType, Key = GroupId };
        Interlocked.Increment(ref _lookups);
        var response = await broker.SendAsync<FindCoordinatorRequest, FindCoordinatorResponse>(request, cancellationToken).ConfigureAwait(false);

        ErrorCode error;
        string? message;
        int nodeId;
        string host;
        int port;
        if (version >= 4)
        {
            FindCoordinatorResponse.Coordinator? found = null;
            foreach (var coordinator in response.Coordinators)
            {
                if (string.Equals(coordinator.Key, GroupId, StringComparison.Ordinal))
                {
                    found = coordinator;
                    break;
                }
            }

            if (found is null)
            {
                throw KafkaExceptions.BrokerError(ErrorCode.CoordinatorNotAvailable, ApiKey.FindCoordinator, broker.Name,
                    "the response did not name a coordinator for group '" + GroupId + "'");
            }

            (error, message, nodeId, host, port) = (found.ErrorCode, found.ErrorMessage, found.NodeId, found.Host, found.Port);
        }
        else
        {
            (error, message, nodeId, host, port) = (response.ErrorCode, response.ErrorMessage, response.NodeId, response.Host, response.Port);
        }

        if (error != ErrorCode.None)
        {
            if (ErrorCodes.IsRetriable(error))
            {
                throw KafkaExceptions.BrokerError(error, ApiKey.FindCoordinator, broker.Name, message);
            }

            throw KafkaExceptions.GroupRefused(GroupId, ApiKey.FindCoordinator, error, message, "The group's coordinator cannot be found.");
        }

        return new BrokerEndpoint(host, port, nodeId);
    }
}
