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
    private readonly Fetcher _fetcher;
    private readonly CancellationToken _stop;
    private readonly AsyncSignal _signal = new();
    private readonly FetchSession _session;
    private readonly List<FetchTarget> _targets = [];
    private readonly Dictionary<TopicPartition, int> _index = [];
    private readonly Dictionary<Guid, string> _topicNames = [];
    private readonly Task _loop;

    public BrokerFetcher(Fetcher fetcher, int nodeId, CancellationToken stop)
    {
        _fetcher = fetcher;
        NodeId = nodeId;
        _stop = stop;
        _session = new FetchSession(fetcher.Options.FetchSessions);
        _loop = RunAsync();
    }

    public int NodeId { get; }

    private int _requestsSent;

    /// <summary>Fetch requests sent (for tests and diagnostics).</summary>
    public int RequestsSent => Volatile.Read(ref _requestsSent);

    public FetchSession Session => _session;

    /// <summary>Wakes the loop: partitions may have become fetchable, or budget freed.</summary>
    public void Signal() => _signal.Set();

    /// <summary>The name of the topic with id <paramref name="topicId"/> in the current request (Fetch v13+ names topics by id).</summary>
    public string? TopicName(Guid topicId) => _topicNames.TryGetValue(topicId, out var name) ? name : null;

    public async ValueTask DisposeAsync()
    {
        _signal.Set();
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _signal.Dispose();
    }

    private async Task RunAsync()
    {
        await Task.Yield();
        var options = _fetcher.Options;
        var timeout = options.RequestTimeout + options.FetchMaxWait;
        var limits = ProtocolLimits.Default;
        var request = new FetchRequest // reused: the session updates it in place, and it is encoded before SendAsync returns
        {
            ReplicaId = -1,
            MaxWaitMs = (int)options.FetchMaxWait.TotalMilliseconds,
            MinBytes = options.FetchMinBytes,
            MaxBytes = options.FetchMaxBytes,
            IsolationLevel = (sbyte)options.IsolationLevel,
            RackId = options.ClientRack,
        };
        while (!_stop.IsCancellationRequested)
        {
            var wait = _fetcher.CollectTargets(NodeId, _targets);
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
                connection = await _fetcher.Cluster.Connections.GetAsync(NodeId, _stop).ConfigureAwait(false);
                short version = Version(connection);
                _session.Build(request, _targets, options.MaxPartitionFetchBytes);
                Index();
                Interlocked.Increment(ref _requestsSent);
                var frame = await connection.SendAsync(request, version, timeout, _fetcher.Pools.Responses, _stop).ConfigureAwait(false);
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
                        _fetcher.FailFetch(NodeId, _targets, KafkaExceptions.BrokerError(response.ErrorCode, ApiKey.Fetch, connection.Name), refreshMetadata: !IsSessionError(response.ErrorCode));
                    }
                    else
                    {
                        _fetcher.CompleteFetch(this, _targets, _index, response, shared, version);
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
                _fetcher.FailUnsupported(_targets, ex);
            }
            catch (Exception ex) when (ex is KafkaException or KafkaProtocolException or OperationCanceledException or ObjectDisposedException)
            {
                // Connection lost, timed out, broker in backoff, or an undecodable answer (the connection was closed):
                // retry after the backoff, and ask metadata whether the partitions moved. The session does not
                // survive a failed request.
                _session.Reset();
                _fetcher.FailFetch(NodeId, _targets, ex, refreshMetadata: true);
            }
            catch (Exception ex)
            {
                // A bug, not the broker: keep the loop alive (its partitions would stall) and say so loudly.
                _fetcher.Log.FetchCrashed(NodeId, ex);
                _session.Reset();
                _fetcher.FailFetch(NodeId, _targets, ex, refreshMetadata: false);
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
