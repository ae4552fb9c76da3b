using Messaging.Threading;
using System.Globalization;
using Messaging.Connection;
using Messaging.Errors;
using Messaging.Protocol.Messages;

namespace Messaging.Groups;

/// <summary>
/// A member of a KIP-848 consumer group (ConsumerGroupHeartbeat, Kafka 4.0+): the coordinator assigns partitions
/// itself and the member reconciles its assignment towards the target it is sent, following the Java client's
/// <c>ConsumerMembershipManager</c> and <c>ConsumerHeartbeatRequestManager</c>.
/// </summary>
/// <remarks>
/// <para>Epochs: a member joins with epoch 0 and adopts the epoch each response carries. It leaves with epoch -1, or
/// -2 for a static member (which tells the coordinator that the instance will be back, so its partitions wait for
/// it until the session timeout). FENCED_MEMBER_EPOCH or UNKNOWN_MEMBER_ID mean the coordinator dropped this
/// member's epoch: everything it owned is reported lost (no commit is possible) and, once the partitions-lost callback
/// has returned, it rejoins with epoch 0 and the same member id.</para>
/// <para>Two loops: the heartbeat loop sends on the interval the coordinator gives (at once after a reconciliation,
/// to acknowledge it), and never runs application code; the reconciliation loop resolves the target's topic ids to
/// names through cluster metadata, then revokes what the target no longer holds and assigns what is new, calling the
/// <see cref="IGroupAssignmentListener"/>. Every heartbeat carries the partitions the member owns, so the coordinator
/// learns what was revoked from the next heartbeat after the revocation callback has returned.</para>
/// </remarks>
internal sealed partial class ConsumerGroupMember : IAsyncDisposable
{
    private readonly GroupCoordinator _coordinator;
    private readonly GroupMemberSettings _settings;
    private readonly IGroupAssignmentListener _listener;
    private readonly GroupLog _log;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly AsyncSignal _heartbeatWake;
    private readonly AsyncSignal _reconcileWake;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource<Exception> _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<(Guid TopicId, int Partition), TopicPartition> _owned = [];
    private Task _heartbeatLoop = Task.CompletedTask;
    private Task _reconcileLoop = Task.CompletedTask;
    private ConsumerGroupSubscription _subscription;
    private Dictionary<Guid, int[]>? _target;
    private List<TopicPartition>? _lostToReport;
    private bool _reportingLoss; // the reconciliation loop is in the partitions-lost callback
    private string _memberId;
    private int _epoch;
    private int _fencings;

    // Bumped whenever the member drops everything it owns (fenced, left on the poll timeout, failed): a reconciliation
    // that began before works towards a target that is void, and must not take up any of it.
    private int _ownershipResets;
    private TimeSpan _interval;
    private DateTimeOffset _nextHeartbeatAt;
    private DateTimeOffset _lastPoll;
    private bool _pollExpired;
    private bool _awaitingRecords;

    // The max poll interval measures how long the application has not polled; before its first poll there is nothing
    // to measure (a Java consumer only joins inside poll, so its first poll always comes first; ours joins from
    // Subscribe, and an application whose consume loop starts late must not be expelled for it).
    private bool _polled;
    private int _failures;
    private Exception? _failure;
    private int _heartbeats;

    // A joining heartbeat (epoch 0) went out since the member last left or was fenced: the coordinator may have taken
    // it in, and assigned it partitions, although the member has no epoch yet.
    private bool _joinSent;
    private int _closed;

    // What the last heartbeat carried (Java's SentFields), so the next one sends only changes.
    private bool _sentValid;
    private ConsumerGroupSubscription? _sentSubscription;
    private int _ownedVersion;
    private int _sentOwnedVersion = -1;

    public ConsumerGroupMember(GroupCoordinator coordinator, ConsumerGroupSubscription subscription, IGroupAssignmentListener listener)
    {
        _coordinator = coordinator;
        _settings = coordinator.Settings;
        _settings.Validate();
        _listener = listener;
        _log = coordinator.Log;
        _time = _settings.Time;
        var clock = new Clock(_time);
        _heartbeatWake = new AsyncSignal(clock);
        _reconcileWake = new AsyncSignal(clock);
        _subscription = subscription;

        // KIP-1082 (ConsumerGroupHeartbeat v1): the member makes its own id and keeps it for its whole life.
        _memberId = Guid.NewGuid().ToString("N");
        _interval = _settings.HeartbeatInterval;
        _lastPoll = _time.GetUtcNow();
        _nextHeartbeatAt = _lastPoll;
        coordinator.Cluster.Metadata.Track(this, subscription.TopicNames); // a regex: every topic, for the ids the broker matched
    }

    public string GroupId => _settings.GroupId;

    public string MemberId
    {
        get
        {
            lock (_lock)
            {
                return _memberId;
            }
        }
    }

    public int MemberEpoch
    {
        get
        {
            lock (_lock)
            {
                return _epoch;
            }
        }
    }

    /// <summary>The partitions this member owns (reconciled), by name.</summary>
    public IReadOnlyCollection<TopicPartition> Assignment
    {
        get
        {
            lock (_lock)
            {
                return [.. _owned.Values];
            }
        }
    }

    /// <summary>Times the coordinator fenced this member (FENCED_MEMBER_EPOCH, UNKNOWN_MEMBER_ID).</summary>
    public int Fencings => Volatile.Read(ref _fencings);

    public int HeartbeatsSent => Volatile.Read(ref _heartbeats);

    public Exception? Failure => Volatile.Read(ref _failure);

    public Task<Exception> Failed => _failed.Task;

    /// <summary>What an OffsetCommit (v9+) or OffsetFetch carries for this member: its epoch and id.</summary>
    public CommitIdentity CommitIdentity
    {
        get
        {
            lock (_lock)
            {
                return new CommitIdentity(_epoch, _memberId, _settings.GroupInstanceId);
            }
        }
    }

    /// <summary>
    /// Who commits, for one commit, asked on every attempt: the member's current epoch and id (a commit refused with
    /// STALE_MEMBER_EPOCH goes out again with the epoch the member has moved to), until the member loses what it owned
    /// (fenced, left on the max poll interval, failed) — from then on null, and the commit fails without being sent
    /// again. It was made for partitions owned under the old epoch; retried under the epoch of the rejoin, the
    /// coordinator would store it although those partitions may belong to another member by then. The Java client
    /// fails such a commit too: its member cannot rejoin while a commitSync holds the application thread that has to
    /// run the partitions-lost callback first.
    /// </summary>
    public Func<CommitIdentity?> CommitIdentityForOneCommit()
    {
        int resets;
        lock (_lock)
        {
            resets = _ownershipResets;
        }

        return () =>
        {
            lock (_lock)
            {
                return _ownershipResets == resets ? new CommitIdentity(_epoch, _memberId, _settings.GroupInstanceId) : null;
            }
        };
    }

    public void Start()
    {
        var token = _stop.Token;
        _heartbeatLoop = Task.Run(() => RunHeartbeatLoopAsync(token), CancellationToken.None);
        _reconcileLoop = Task.Run(() => RunReconcileLoopAsync(token), CancellationToken.None);
    }

    /// <summary>Changes the subscription; the next heartbeat (sent now) carries it.</summary>
    public void Subscribe(ConsumerGroupSubscription subscription)
    {
        lock (_lock)
        {
            _subscription = subscription;
            _nextHeartbeatAt = _time.GetUtcNow();
        }

        _coordinator.Cluster.Metadata.Track(this, subscription.TopicNames); // the topics of the old subscription leave its requests

        _heartbeatWake.Set();
    }

    /// <summary>The application polled: restarts the max-poll-interval timer; a member that left on it rejoins.</summary>
    public void NotifyPolled()
    {
        var rejoin = false;
        var afterLossReport = false;
        lock (_lock)
        {
            _lastPoll = _time.GetUtcNow();
            _polled = true;
            if (_pollExpired)
            {
                _pollExpired = false;
                _epoch = 0;
                _nextHeartbeatAt = _lastPoll;
                rejoin = true;
                afterLossReport = _lostToReport is not null || _reportingLoss;
            }
        }

        if (rejoin)
        {
            _log.RejoinRequested(GroupId, afterLossReport
                ? "the application polled again after the max poll interval had expired; rejoining once the partitions-lost callback has returned"
                : "the application polled again after the max poll interval had expired");
            _heartbeatWake.Set();
        }
    }

    /// <summary>The application is waiting for records (a poll in progress: the max-poll-interval timer does not run out) or got some.</summary>
    public void NotifyAwaitingRecords(bool awaiting)
    {
        lock (_lock)
        {
            _awaitingRecords = awaiting;
        }

        NotifyPolled();
    }

    /// <summary>
    /// Stops. With <paramref name="leaveGroup"/>, revokes what it owns and sends a leaving heartbeat (epoch -1, or -2
    /// for a static member); without, just stops heartbeating (the coordinator drops it after the session timeout).
    /// </summary>
    public async ValueTask CloseAsync(bool leaveGroup, CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        // Whatever a callback or a loop did, the member leaves (when asked) and releases what it holds; a callback the
        // caller's token cancelled is told to the caller only then.
        var cancelled = false;
        try
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            await BackgroundLoop.StoppedAsync(_heartbeatLoop).ConfigureAwait(false);
            await BackgroundLoop.StoppedAsync(_reconcileLoop).ConfigureAwait(false);
            if (Failure is { } failure && !_failed.Task.IsCompleted)
            {
                // Failed, and the reconciliation loop stopped before it reported the loss: report it now.
                List<TopicPartition>? lost;
                lock (_lock)
                {
                    lost = _lostToReport;
                    _lostToReport = null;
                }

                if (lost is { Count: > 0 })
                {
                    cancelled = await ClosingCallbackAsync(() => _listener.OnLostAsync(lost, cancellationToken), cancellationToken).ConfigureAwait(false);
                }

                _failed.TrySetResult(failure);
            }

            if (leaveGroup && Failure is null)
            {
                List<TopicPartition> owned;
                lock (_lock)
                {
                    owned = [.. _owned.Values];
                    _owned.Clear();
                }

                if (owned.Count > 0)
                {
                    cancelled = await ClosingCallbackAsync(() => _listener.OnRevokedAsync(owned, cancellationToken), cancellationToken).ConfigureAwait(false);
                }

                await LeaveAsync("the consumer is being closed", GroupLoops.LeaveToken(cancellationToken)).ConfigureAwait(false);
            }
        }
        finally
        {
            _coordinator.Cluster.Metadata.Track(this, []);
            _stop.Dispose();
            _heartbeatWake.Dispose();
            _reconcileWake.Dispose();
        }

        if (cancelled)
        {
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    public ValueTask DisposeAsync() => CloseAsync(leaveGroup: true);

    private async Task RunHeartbeatLoopAsync(CancellationToken token)
    {
        try
        {
            while (!token.IsCancellationRequested)
            {
                var send = false;
                var wait = Timeout.InfiniteTimeSpan;
                var pollExpired = false;
                lock (_lock)
                {
                    var now = _time.GetUtcNow();
                    if (_failure is not null || _pollExpired)
                    {
                        // Failed for good, or out of the group until the application polls: nothing to send.
                    }
                    else if (_epoch == 0 && (_lostToReport is not null || _reportingLoss))
                    {
                        // Out of the group (fenced, or back from a poll timeout) with a loss still to report: the member
                        // rejoins once the partitions-lost callback has returned (Java's transitionToFenced and
                        // maybeRejoinStaleMember wait for it), so it is not handed partitions again while the
                        // application still tears them down. The reconciliation loop wakes this one then.
                    }
                    else if (_epoch > 0 && _polled && !_awaitingRecords && now - _lastPoll >= _settings.MaxPollInterval)
                    {
                        pollExpired = true;
                        _pollExpired = true;
                    }
                    else if (now < _nextHeartbeatAt)
                    {
                        wait = _nextHeartbeatAt - now;
                        if (_epoch > 0 && _polled && !_awaitingRecords && _lastPoll + _settings.MaxPollInterval - now < wait)
                        {
                            wait = _lastPoll + _settings.MaxPollInterval - now;
                        }
                    }
                    else
                    {
                        send = true;
                        _nextHeartbeatAt = now + _interval;
                    }
                }

                if (pollExpired)
                {
                    await ExpirePollAsync(token).ConfigureAwait(false);
                }
                else if (!send)
                {
                    await _heartbeatWake.WaitAsync(wait < TimeSpan.Zero ? TimeSpan.Zero : wait, token).ConfigureAwait(false);
                    token.ThrowIfCancellationRequested();
                }
                else
                {
                    await HeartbeatOnceAsync(token).ConfigureAwait(false);
                }
            }
        }
        catch (Exception) when (token.IsCancellationRequested)
        {
            // Closing.
        }
    }

    /// <summary>
    /// Java's <c>HeartbeatState.buildRequestData</c>: the full state when joining (epoch 0) or after a failed heartbeat;
    /// afterwards only what changed (null means "unchanged"): the subscription when it changes, the owned partitions
    /// after each reconciliation. The subscription always goes as a pair on v1 — names with an empty regex (no
    /// regex), or a regex with an empty name list — which real coordinators read as intended and which librdkafka's
    /// mock requires (it asserts that both fields are set or neither is).
    /// </summary>
    private ConsumerGroupHeartbeatRequest BuildHeartbeatLocked(short version)
    {
        var all = _epoch == 0 || !_sentValid;
        var request = new ConsumerGroupHeartbeatRequest
        {
            GroupId = GroupId,
            MemberId = _memberId,
            MemberEpoch = _epoch,
            InstanceId = _settings.GroupInstanceId,
        };

        if (all)
        {
            request.RackId = _settings.RackId;
            request.RebalanceTimeoutMs = (int)Math.Min(int.MaxValue, _settings.RebalanceTimeout.TotalMilliseconds);
        }

        if (all || !ReferenceEquals(_sentSubscription, _subscription))
        {
            request.SubscribedTopicNames = _subscription.TopicNames is { } names ? [.. names] : [];
            if (version >= 1)
            {
                request.SubscribedTopicRegex = _subscription.TopicRegex ?? "";
            }

            request.ServerAssignor = _subscription.ServerAssignor;
            _sentSubscription = _subscription;
        }

        if (all || _sentOwnedVersion != _ownedVersion)
        {
            var owned = new Dictionary<Guid, List<int>>();
            foreach (var (topicId, partition) in _owned.Keys)
            {
                if (!owned.TryGetValue(topicId, out var list))
                {
                    owned[topicId] = list = [];
                }

                list.Add(partition);
            }

            var topicPartitions = new ConsumerGroupHeartbeatRequest.TopicPartitionsData[owned.Count];
            var i = 0;
            foreach (var (topicId, partitions) in owned)
            {
                topicPartitions[i++] = new ConsumerGroupHeartbeatRequest.TopicPartitionsData { TopicId = topicId, Partitions = [.. partitions] };
            }

            request.TopicPartitions = topicPartitions;
            _sentOwnedVersion = _ownedVersion;
        }

        _sentValid = true;
        return request;
    }

    private async Task HeartbeatOnceAsync(CancellationToken token)
    {
        BrokerConnection connection;
        HeartbeatResult result;
        try
        {
            connection = await _coordinator.GetConnectionAsync(token).ConfigureAwait(false);
            var version = connection.ApiVersions.VersionFor(ApiKey.ConsumerGroupHeartbeat);
            ConsumerGroupHeartbeatRequest request;
            lock (_lock)
            {
                request = BuildHeartbeatLocked(version);
                _joinSent |= request.MemberEpoch == 0;
            }

            if (version == 0 && _subscription.TopicRegex is not null)
            {
                throw KafkaExceptions.GroupRefused(GroupId, ApiKey.ConsumerGroupHeartbeat, ErrorCode.UnsupportedVersion, null,
                    "A regex subscription needs ConsumerGroupHeartbeat v1 (Kafka 4.0+).");
            }

            Interlocked.Increment(ref _heartbeats);
            result = await _coordinator.SendAsync<ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, HeartbeatResult>(
                connection, request, version, _settings.RequestTimeout, static response => HeartbeatResult.From(response), token).ConfigureAwait(false);
        }
        catch (KafkaGroupException ex)
        {
            Fail(ex);
            return;
        }
        catch (UnsupportedApiVersionException ex)
        {
            Fail(KafkaExceptions.GroupRefused(GroupId, ApiKey.ConsumerGroupHeartbeat, ErrorCode.UnsupportedVersion, ex.Message,
                "The cluster does not support the consumer group protocol (KIP-848, Kafka 4.0+): use the classic protocol."));
            return;
        }
        catch (KafkaException ex) when (!ex.IsRetriable && !token.IsCancellationRequested)
        {
            // Java's onFailure: a failure that retrying cannot mend (the brokers refused the credentials) is fatal, as it
            // is for a classic member's join. Backed off and retried, it kept the member out of its group for good while
            // consume calls waited with nothing said.
            Fail(KafkaExceptions.GroupRefused(GroupId, ApiKey.ConsumerGroupHeartbeat, (ex as KafkaErrorException)?.Code ?? ErrorCode.UnknownServerError,
                ex.Message, "The member stops."));
            return;
        }
        catch (KafkaException ex) when (!token.IsCancellationRequested)
        {
            Backoff(ex.Message);
            return;
        }

        switch (result.Error)
        {
            case ErrorCode.None:
                lock (_lock)
                {
                    if (result.MemberId is { Length: > 0 } id)
                    {
                        _memberId = id;
                    }

                    if (_epoch != result.MemberEpoch)
                    {
                        _log.EpochChanged(GroupId, _memberId, result.MemberEpoch);
                    }

                    if (_epoch <= 0 && result.MemberEpoch > 0)
                    {
                        _lastPoll = _time.GetUtcNow(); // joined: the poll timer starts now (as a classic member's does on entering a generation)
                    }

                    _epoch = result.MemberEpoch;
                    _failures = 0;
                    if (result.HeartbeatIntervalMs > 0)
                    {
                        // What changed while this heartbeat was in flight (a reconciliation to acknowledge, a new
                        // subscription) goes out now, as Java's heartbeatNow does once the response is in: the
                        // coordinator waits for a revocation's acknowledgment before it moves the partitions on.
                        _interval = TimeSpan.FromMilliseconds(result.HeartbeatIntervalMs);
                        var unsent = _sentOwnedVersion != _ownedVersion || !ReferenceEquals(_sentSubscription, _subscription);
                        _nextHeartbeatAt = _time.GetUtcNow() + (unsent ? TimeSpan.Zero : _interval);
                    }

                    if (result.Assignment is not null)
                    {
                        _target = result.Assignment;
                    }
                }

                if (result.Assignment is not null)
                {
                    _reconcileWake.Set();
                }

                break;

            case ErrorCode.FencedMemberEpoch or ErrorCode.UnknownMemberId:
                // Java's transitionToFenced: the assignment is lost, then rejoin at once with epoch 0 (same member id).
                _log.GroupError(GroupId, ApiKey.ConsumerGroupHeartbeat, result.Error, "the assignment is lost; rejoining with epoch 0 once the partitions-lost callback has returned");
                lock (_lock)
                {
                    _fencings++;
                    _joinSent = false;
                    _ownershipResets++;
                    _ownedVersion++;
                    _epoch = 0;
                    _target = null;
                    if (_owned.Count > 0)
                    {
                        (_lostToReport ??= []).AddRange(_owned.Values);
                    }

                    _owned.Clear();
                    _nextHeartbeatAt = _time.GetUtcNow();
                }

                _reconcileWake.Set();
                break;

            case ErrorCode.NotCoordinator or ErrorCode.CoordinatorNotAvailable:
                _coordinator.MarkUnknown(connection, ErrorCodes.Name(result.Error) + " from ConsumerGroupHeartbeat");
                Backoff(ErrorCodes.Name(result.Error));
                break;

            case ErrorCode.CoordinatorLoadInProgress:
                Backoff(ErrorCodes.Name(result.Error));
                break;

            case ErrorCode.TopicAuthorizationFailed:
                // The subscription names a topic the member may not describe. Java's heartbeat manager tells the
                // application's poll and keeps the member as it is, heartbeating after the backoff, so it recovers once
                // the ACL is granted; stopped for good, the consumer had to be recreated.
                _listener.OnAssignmentFailed("the coordinator refused the subscription (" + ErrorCodes.Name(result.Error) + ")", KafkaExceptions.GroupRefused(GroupId, ApiKey.ConsumerGroupHeartbeat, result.Error,
                    result.ErrorMessage, "The member stays in the group and heartbeats again after the backoff."));
                Backoff(ErrorCodes.Name(result.Error));
                break;

            default:
                // UNRELEASED_INSTANCE_ID, FENCED_INSTANCE_ID, GROUP_MAX_SIZE_REACHED, INVALID_REQUEST, UNSUPPORTED_ASSIGNOR,
                // UNSUPPORTED_VERSION, GROUP_AUTHORIZATION_FAILED and unexpected errors are fatal in the Java client.
                Fail(KafkaExceptions.GroupRefused(GroupId, ApiKey.ConsumerGroupHeartbeat, result.Error, result.ErrorMessage, "The member stops."));
                break;
        }
    }

    private void Backoff(string reason)
    {
        TimeSpan backoff;
        lock (_lock)
        {
            _sentValid = false; // Java resets the sent fields after a failed heartbeat: the next one carries everything
            _failures++;
            backoff = ReconnectBackoff.Next(_failures, _settings.RetryBackoff, _settings.RetryBackoffMax);
            _nextHeartbeatAt = _time.GetUtcNow() + backoff;
        }

        _log.Retrying(GroupId, "ConsumerGroupHeartbeat", backoff.TotalMilliseconds, reason);
    }

    private async Task ExpirePollAsync(CancellationToken token)
    {
        _log.PollTimeoutExpired(GroupId, (_time.GetUtcNow() - _lastPoll).TotalMilliseconds, _settings.MaxPollInterval.TotalMilliseconds);
        List<TopicPartition> owned;
        lock (_lock)
        {
            owned = [.. _owned.Values];
            _owned.Clear();
            _ownedVersion++;
            _target = null;
            _ownershipResets++;
        }

        // Java's transitionToStale: the member leaves and its partitions count as lost (another member may get
        // them before this one could commit).
        if (owned.Count > 0)
        {
            lock (_lock)
            {
                (_lostToReport ??= []).AddRange(owned);
            }

            _reconcileWake.Set();
        }

        await LeaveAsync("consumer poll timeout has expired.", token).ConfigureAwait(false);
    }

    /// <summary>One leaving heartbeat: epoch -1, or -2 for a static member (KIP-848). Best effort, no retry.</summary>
    private async Task LeaveAsync(string reason, CancellationToken token)
    {
        int epoch;
        string memberId;
        bool joinSent;
        lock (_lock)
        {
            epoch = _epoch;
            memberId = _memberId;
            joinSent = _joinSent;
            _epoch = 0;
            _joinSent = false;
        }

        // A member whose joining heartbeat is still unanswered leaves too (Java's leaveGroup does while JOINING): the
        // coordinator may have taken it in, and would keep its partitions from the others until its session timeout.
        if (epoch <= 0 && !joinSent && !_settings.IsStatic)
        {
            return; // never joined
        }

        _log.Leaving(GroupId, memberId, reason);
        using var timeout = new CancellationTokenSource(Clock.TimerDelay(_settings.RequestTimeout), _time); // the group's clock, as for a classic LeaveGroup
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(token, timeout.Token);
        try
        {
            var connection = await GroupLoops.LeaveConnectionAsync(_coordinator, bounded.Token).ConfigureAwait(false);
            var version = connection.ApiVersions.VersionFor(ApiKey.ConsumerGroupHeartbeat);
            var request = new ConsumerGroupHeartbeatRequest
            {
                GroupId = GroupId,
                MemberId = memberId,
                MemberEpoch = _settings.IsStatic ? -2 : -1,
                InstanceId = _settings.GroupInstanceId,
            };
            Interlocked.Increment(ref _heartbeats);
            await _coordinator.SendAsync<ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, ErrorCode>(
                connection, request, version, _settings.RequestTimeout, static response => response.ErrorCode, bounded.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is KafkaException or OperationCanceledException)
        {
            _log.Retrying(GroupId, "leaving heartbeat (not retried)", 0, ex.Message);
        }
    }

    /// <summary>
    /// The heartbeat loop met a fatal error: the member stops. What it owned is handed to the reconciliation loop to
    /// report lost — the callbacks are the application's and run one at a time there; run here, the loss was reported
    /// while an assignment or revocation callback was still running — and <see cref="Failed"/> completes once it has
    /// been (at once when nothing is owned or to report).
    /// </summary>
    private void Fail(KafkaGroupException error)
    {
        bool report;
        lock (_lock)
        {
            if (_failure is not null)
            {
                return;
            }

            Volatile.Write(ref _failure, error);
            if (_owned.Count > 0)
            {
                (_lostToReport ??= []).AddRange(_owned.Values);
            }

            _owned.Clear();
            _ownedVersion++;
            _ownershipResets++;
            _target = null;
            report = _lostToReport is not null || _reportingLoss;
        }

        _log.Failed(GroupId, error);
        if (report)
        {
            _reconcileWake.Set(); // the reconciliation loop completes Failed after the report
        }
        else
        {
            _failed.TrySetResult(error);
        }
    }

    private Task CallbackAsync(Func<ValueTask> callback) => GroupLoops.RunCallbackAsync(callback, _log, GroupId, _stop.Token);

    private Task<bool> ClosingCallbackAsync(Func<ValueTask> callback, CancellationToken cancellationToken) =>
        GroupLoops.RunClosingCallbackAsync(callback, _log, GroupId, cancellationToken);

    /// <summary>A ConsumerGroupHeartbeat response, with the target assignment copied out of the frame.</summary>
    private sealed record HeartbeatResult(ErrorCode Error, string? ErrorMessage, string? MemberId, int MemberEpoch, int HeartbeatIntervalMs, Dictionary<Guid, int[]>? Assignment)
    {
        public static HeartbeatResult From(ConsumerGroupHeartbeatResponse response)
        {
            Dictionary<Guid, int[]>? assignment = null;
            if (response.Assignment is { } data)
            {
                assignment = [];
                foreach (var topic in data.TopicPartitions)
                {
                    assignment[topic.TopicId] = topic.Partitions;
                }
            }

            return new HeartbeatResult(response.ErrorCode, response.ErrorMessage, response.MemberId, response.MemberEpoch, response.HeartbeatIntervalMs, assignment);
        }
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{GroupId}/{MemberId}@{MemberEpoch}");
}
