using Messaging.Connection;
using Messaging.Errors;
using Messaging.Protocol;
using Messaging.Protocol.Messages;
using Messaging.Threading;

namespace Messaging.Consumer;

/// <summary>
/// The fetch pipeline for one broker (franz-go's <c>source</c>): one Fetch in flight at a time, carrying every partition
/// this broker leads that may be fetched now; the next one goes out as soon as the previous response is queued, while
/// the application is still reading earlier ones, until the buffered-bytes budget is used up. Keeps the broker's
/// incremental fetch session.
/// </summary>
internal sealed class BrokerFetcher : IAsyncDisposable
{
    private readonly PartitionCursors _cursors;
    private readonly FetchBuffer _buffer;
    private readonly FetchResponseHandler _responses;
    private readonly BrokerConnections _connections;
    private readonly IResponseBufferPool _responseBuffers;
    private readonly KafkaConsumerOptions _options;
    private readonly ConsumerLog _log;
    private readonly CancellationToken _stop;
    private readonly AsyncSignal _signal;
    private readonly Clock _clock;
    /// <summary>The longest a dispose waits for the broker to confirm its fetch session is closed.</summary>
    private static readonly TimeSpan SessionCloseTimeout = TimeSpan.FromSeconds(1);

    private readonly FetchSession _session;
    private readonly List<FetchTarget> _targets = [];
    private readonly Dictionary<TopicPartition, int> _index = [];
    private readonly Dictionary<Guid, string> _topicNames = [];
    private readonly Task _loop;
    private BrokerConnection? _connection; // the last one fetched on: the session lives there

    /// <param name="nodeId">The broker.</param>
    /// <param name="cursors">Where the partitions to fetch are taken from.</param>
    /// <param name="buffer">The buffered-bytes budget: nothing is fetched while it is used up.</param>
    /// <param name="responses">What is made of each Fetch's outcome.</param>
    /// <param name="connections">The connection to the broker.</param>
    /// <param name="responseBuffers">The pool Fetch responses are read into.</param>
    /// <param name="options">The fetch settings.</param>
    /// <param name="log">Where a crash of the loop is logged.</param>
    /// <param name="clock">The consumer's clock: backoffs count on it.</param>
    /// <param name="stop">Ends the loop.</param>
    public BrokerFetcher(int nodeId, PartitionCursors cursors, FetchBuffer buffer, FetchResponseHandler responses, BrokerConnections connections,
        IResponseBufferPool responseBuffers, KafkaConsumerOptions options, ConsumerLog log, Clock clock, CancellationToken stop)
    {
        _clock = clock;
        _signal = new AsyncSignal(clock);
        NodeId = nodeId;
        _cursors = cursors;
        _buffer = buffer;
        _responses = responses;
        _connections = connections;
        _responseBuffers = responseBuffers;
        _options = options;
        _log = log;
        _stop = stop;
        _session = new FetchSession(options.FetchSessions);
        _loop = RunAsync();
    }

    public int NodeId { get; }

    private int _requestsSent;

    /// <summary>Fetch requests sent (for tests and diagnostics).</summary>
    public int RequestsSent => Volatile.Read(ref _requestsSent);

    public FetchSession Session => _session;

    /// <summary>Wakes the loop: partitions may have become fetchable, or budget freed.</summary>
    public void Signal() => _signal.Set();

    /// <summary>Stops the loop (its stop token is cancelled first), then closes the broker's fetch session.</summary>
    public async ValueTask DisposeAsync()
    {
        _signal.Set();
        await BackgroundLoop.StoppedAsync(_loop).ConfigureAwait(false);
        await CloseSessionAsync().ConfigureAwait(false);

        _signal.Dispose();
    }

    private async Task RunAsync()
    {
        await Task.Yield();
        var options = _options;
        var timeout = Clock.Sum(options.RequestTimeout, options.FetchMaxWait);
        var limits = ProtocolLimits.Default;
        // Reused: the session updates it in place, and it is encoded before SendAsync returns.
        var request = NewRequest((int)options.FetchMaxWait.TotalMilliseconds, options.FetchMinBytes);
        while (!_stop.IsCancellationRequested)
        {
            var wait = CollectTargets();
            if (_targets.Count == 0)
            {
                try
                {
                    await _signal.WaitAsync(wait, _stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                continue;
            }

            BrokerConnection? connection = null;
            try
            {
                connection = await _connections.GetAsync(NodeId, _stop).ConfigureAwait(false);
                _connection = connection;
                short version = Version(connection);
                bool incremental = _session.IsIncremental;
                _session.Build(request, _targets, options.MaxPartitionFetchBytes, topicIds: version >= 13);
                Index();
                Interlocked.Increment(ref _requestsSent);
                var frame = await connection.SendAsync(request, version, timeout, _responseBuffers, _stop).ConfigureAwait(false);
                var shared = SharedBuffer.ForFrame(frame);
                try
                {
                    FetchResponse response;
                    try
                    {
                        response = ResponseDecoder.Decode<FetchResponse>(frame, version, limits);
                    }
                    catch (KafkaProtocolException ex)
                    {
                        connection.Close("undecodable Fetch response: " + ex.Message);
                        throw;
                    }

                    connection.ReportThrottle(ApiKey.Fetch, response.ThrottleTimeMs);

                    if (!_session.OnResponse(response) || response.ErrorCode != ErrorCode.None)
                    {
                        // A session the broker refuses says nothing of the partitions: the full Fetch that opens a new one
                        // goes out at once, as the Java client's does (after a full one, the backoff keeps it from spinning).
                        bool session = IsSessionError(response.ErrorCode);
                        _responses.FailFetch(NodeId, _targets, KafkaExceptions.BrokerError(response.ErrorCode, ApiKey.Fetch, connection.Name),
                            refreshMetadata: !session, backOff: !(session && incremental));
                    }
                    else
                    {
                        _responses.CompleteFetch(NodeId, _targets, _index, _topicNames, response, shared, version);
                    }
                }
                finally
                {
                    shared.Release();
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                break;
            }
            catch (UnsupportedApiVersionException ex)
            {
                _session.Reset();
                _responses.FailUnsupported(_targets, ex);
            }
            catch (Exception ex) when (ex is KafkaException or KafkaProtocolException or OperationCanceledException or ObjectDisposedException)
            {
                // Connection lost, timed out, broker in backoff, or an undecodable answer (the connection was closed):
                // retry after the backoff, and ask metadata whether the partitions moved. The session does not
                // survive a failed request.
                _session.Reset();
                _responses.FailFetch(NodeId, _targets, ex, refreshMetadata: true);
            }
            catch (Exception ex)
            {
                // A bug, not the broker: keep the loop alive (its partitions would stall) and say so loudly.
                _log.FetchCrashed(NodeId, ex);
                _session.Reset();
                _responses.FailFetch(NodeId, _targets, ex, refreshMetadata: false);
            }

            _targets.Clear();
            if (connection is not null)
            {
                // A throttled response muted the connection (KIP-219): wait it out here, before collecting the next
                // targets, so the next request carries positions as of when it may go out, not as of now.
                try
                {
                    await connection.WaitWhileMutedAsync(_stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    /// <summary>A Fetch with this consumer's settings (replica id -1: a consumer; its byte limit, isolation level and rack); the session fills in the partitions.</summary>
    private FetchRequest NewRequest(int maxWaitMs, int minBytes) => new()
    {
        ReplicaId = -1,
        MaxWaitMs = maxWaitMs,
        MinBytes = minBytes,
        MaxBytes = _options.FetchMaxBytes,
        IsolationLevel = (sbyte)_options.IsolationLevel,
        RackId = _options.ClientRack,
    };

    /// <summary>
    /// Tells the broker to drop this consumer's fetch session (a Fetch with its id and the final epoch), so the session
    /// does not hold a slot in the broker's session cache until it is evicted. Only on the connection still open (a
    /// dead broker is not dialled again), and waiting at most <see cref="SessionCloseTimeout"/>: a broker that does
    /// not answer does not hold up the dispose.
    /// </summary>
    private async Task CloseSessionAsync()
    {
        var request = NewRequest(maxWaitMs: 0, minBytes: 0); // nothing to wait for: the broker answers a close at once
        if (_connection is not { IsOpen: true } connection || !_session.TryBuildClose(request))
        {
            return;
        }

        var timeout = _options.RequestTimeout < SessionCloseTimeout ? _options.RequestTimeout : SessionCloseTimeout;
        using var expiry = _clock.CancelAfter(timeout);
        try
        {
            using var frame = await connection.SendAsync(request, connection.ApiVersions.VersionFor(ApiKey.Fetch), timeout, expiry.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is KafkaException or KafkaProtocolException or OperationCanceledException or ObjectDisposedException)
        {
            // Unanswered or refused: the broker evicts the session in time anyway.
        }
    }

    /// <summary>
    /// Marks every partition this broker may fetch now as in flight and lists it in the targets. Returns how long to
    /// wait before asking again when there is nothing (infinite: until signalled).
    /// </summary>
    private TimeSpan CollectTargets()
    {
        _targets.Clear();
        if (_buffer.IsFull)
        {
            return Timeout.InfiniteTimeSpan; // signalled when the consumer frees budget
        }

        long now = _clock.Now;
        long nextRetry = _cursors.CollectTargets(NodeId, _targets, now);
        if (_targets.Count > 0)
        {
            return TimeSpan.Zero;
        }

        return nextRetry == long.MaxValue
            ? Timeout.InfiniteTimeSpan
            : TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond, _clock.Between(now, nextRetry).Ticks));
    }

    private static bool IsSessionError(ErrorCode code) =>
        code is ErrorCode.FetchSessionIdNotFound or ErrorCode.InvalidFetchSessionEpoch or ErrorCode.FetchSessionTopicIdError;

    /// <summary>The Fetch version: the negotiated one, but at most 12 (topics by name) unless every topic has an id.</summary>
    private short Version(BrokerConnection connection)
    {
        short version = connection.ApiVersions.VersionFor(ApiKey.Fetch);
        if (version >= 13)
        {
            foreach (var target in _targets)
            {
                if (target.TopicId == Guid.Empty)
                {
                    return 12;
                }
            }
        }

        return version;
    }

    private void Index()
    {
        _index.Clear();
        _topicNames.Clear();
        for (int i = 0; i < _targets.Count; i++)
        {
            var target = _targets[i];
            _index[target.Cursor.TopicPartition] = i;
            if (target.TopicId != Guid.Empty)
            {
                _topicNames[target.TopicId] = target.Cursor.Topic;
            }
        }
    }
}
