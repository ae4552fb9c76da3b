using Messaging.Threading;
using Messaging.Connection;
using Messaging.Errors;
using Messaging.Protocol;
using Messaging.Protocol.Messages;

namespace Messaging.Groups;

/// <summary>
/// A member of a classic group (JoinGroup, SyncGroup, Heartbeat, LeaveGroup), following the Java client's
/// <c>AbstractCoordinator</c>: its member states, its generation and member id rules, and its handling of each error.
/// The embedded protocol (what members announce, how the leader assigns, what an assignment means) is the
/// <see cref="IClassicGroupProtocol"/>'s business; this class moves the bytes.
/// </summary>
/// <remarks>
/// <para>Two loops run in the background once <see cref="Start"/> is called. The join loop (this file) finds the
/// coordinator, runs the protocol's callbacks and the JoinGroup/SyncGroup exchange whenever a rejoin is needed,
/// and reports a lost assignment as soon as it knows. The heartbeat loop (<c>ClassicGroupMember.Heartbeat.cs</c>)
/// heartbeats while the member is in a generation, watches the session and the application's polling, and never
/// waits for the application or a callback.</para>
/// <para>Shared state (member state, generation, rejoin flags, timers) is guarded by one lock, held only to read or
/// change fields, never across an await. A response changes the generation only if the generation it was sent with
/// is still current (Java's <c>generationUnchanged()</c>): the heartbeat loop may have reset it meanwhile.</para>
/// </remarks>
internal sealed partial class ClassicGroupMember : IAsyncDisposable
{
    private static readonly IReadOnlyDictionary<string, ReadOnlyMemory<byte>> NoAssignments = new Dictionary<string, ReadOnlyMemory<byte>>();

    private readonly GroupCoordinator _coordinator;
    private readonly GroupMemberSettings _settings;
    private readonly IClassicGroupProtocol _protocol;
    private readonly GroupLog _log;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly AsyncSignal _joinWake;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource<Exception> _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _joinLoop = Task.CompletedTask;
    private Task _heartbeatLoop = Task.CompletedTask;

    private ClassicMemberState _state = ClassicMemberState.Unjoined;
    private GroupGeneration _generation = GroupGeneration.None;
    private bool _rejoinNeeded = true;
    private string _rejoinReason = "";
    private int _rejoinRequests; // every request counts: one that arrives while a join is in flight survives its success
    private int _announcementChanges; // the requests among them because what the member announces changed
    private bool _needsJoinPrepare = true;
    private bool _holdsAssignment;
    private bool _isLeader;
    private BrokerConnection? _rebalanceConnection; // the connection of a JoinGroup or SyncGroup in flight
    private Exception? _failure;
    private int _started;
    private int _closed;
    private int _joinRequests;
    private int _completedRebalances;

    public ClassicGroupMember(GroupCoordinator coordinator, IClassicGroupProtocol protocol)
    {
        _coordinator = coordinator;
        _settings = coordinator.Settings;
        _settings.Validate();
        _protocol = protocol;
        _log = coordinator.Log;
        _time = _settings.Time;
        var clock = new Clock(_time);
        _joinWake = new AsyncSignal(clock);
        _heartbeatWake = new AsyncSignal(clock);
        _lastPoll = _time.GetUtcNow();
        _sessionStart = _lastPoll;
        _nextHeartbeatAt = _lastPoll;
    }

    public string GroupId => _settings.GroupId;

    public ClassicMemberState State
    {
        get
        {
            lock (_lock)
            {
                return _state;
            }
        }
    }

    /// <summary>The current generation (generation id, member id, protocol).</summary>
    public GroupGeneration Generation
    {
        get
        {
            lock (_lock)
            {
                return _generation;
            }
        }
    }

    /// <summary>True when this member was elected leader of the current generation.</summary>
    public bool IsLeader
    {
        get
        {
            lock (_lock)
            {
                return _isLeader && _state is ClassicMemberState.CompletingRebalance or ClassicMemberState.Stable;
            }
        }
    }

    /// <summary>Why the member stopped for good, or null.</summary>
    public Exception? Failure => Volatile.Read(ref _failure);

    /// <summary>Completes with the error when the member stops for good (never completes otherwise).</summary>
    public Task<Exception> Failed => _failed.Task;

    /// <summary>JoinGroup requests sent (tests, diagnostics).</summary>
    public int JoinRequests => Volatile.Read(ref _joinRequests);

    /// <summary>Rebalances that ended with an assignment for this member (tests, diagnostics).</summary>
    public int CompletedRebalances => Volatile.Read(ref _completedRebalances);

    /// <summary>
    /// The generation and member id to commit offsets with while the member is stable; null otherwise (the Java
    /// client refuses a commit for group-managed partitions outside a stable generation).
    /// </summary>
    public GroupGeneration? StableGeneration
    {
        get
        {
            lock (_lock)
            {
                return _state == ClassicMemberState.Stable ? _generation : null;
            }
        }
    }

    /// <summary>Starts the join and heartbeat loops. Once.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("The group member has already been started.");
        }

        var token = _stop.Token;
        _joinLoop = Task.Run(() => RunJoinLoopAsync(token), CancellationToken.None);
        _heartbeatLoop = Task.Run(() => RunHeartbeatLoopAsync(token), CancellationToken.None);
    }

    /// <summary>
    /// Asks for a rebalance because what the member announces changed (the subscription, a partition count, a
    /// cooperative follow-up): only a join that reads the protocols after this call answers it.
    /// </summary>
    public void RequestRejoin(string reason) => RequestRejoin(reason, announcementChanged: true);

    /// <param name="reason">Why, for the log and the JoinGroup.</param>
    /// <param name="announcementChanged">
    /// True when what the member announces changed; false when the coordinator (or a failed rebalance) wants one,
    /// which any JoinGroup sent after the request answers.
    /// </param>
    private void RequestRejoin(string reason, bool announcementChanged)
    {
        lock (_lock)
        {
            RequestRejoinLocked(reason, announcementChanged);
        }

        _joinWake.Set();
    }

    /// <summary>
    /// Java's <c>OffsetCommitResponseHandler</c>: a commit made in generation <paramref name="generationId"/> was refused
    /// with ILLEGAL_GENERATION or UNKNOWN_MEMBER_ID (the member is out of that generation: reset it, and the member id
    /// for UNKNOWN_MEMBER_ID, as for a heartbeat) or REBALANCE_IN_PROGRESS (rejoin, keeping the generation). Only while
    /// that generation is still current and stable: once the member has moved on, the answer says nothing new (and a
    /// rejoin request arriving during a join would start yet another rebalance after it).
    /// </summary>
    public void CommitRefused(int generationId, string memberId, ErrorCode error)
    {
        lock (_lock)
        {
            if (_state != ClassicMemberState.Stable || _generation.GenerationId != generationId || !string.Equals(_generation.MemberId, memberId, StringComparison.Ordinal))
            {
                return;
            }

            if (error == ErrorCode.RebalanceInProgress)
            {
                RequestRejoinLocked("offset commit failed since group is already rebalancing");
            }
            else
            {
                ResetStateAndRejoinLocked("encountered " + ErrorCodes.Name(error) + " from OffsetCommit", resetMemberId: error != ErrorCode.IllegalGeneration);
            }
        }

        _joinWake.Set();
    }

    /// <summary>
    /// Leaves the group and stops. With <paramref name="leaveGroup"/>, the protocol revokes first
    /// (<see cref="IClassicGroupProtocol.OnLeavePrepareAsync"/>) and a dynamic member sends LeaveGroup; a static member
    /// never does (KIP-345: only its session timeout removes it, so a restart keeps its assignment). Without it, the
    /// member just stops (as if its process died): the coordinator removes it after the session timeout.
    /// </summary>
    public async ValueTask CloseAsync(bool leaveGroup, CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        BrokerConnection? joining;
        lock (_lock)
        {
            joining = _rebalanceConnection;
        }

        // A JoinGroup or SyncGroup in flight holds the coordinator connection until the rebalance gets that far (the
        // broker answers a connection's requests in order): drop that connection, so the LeaveGroup goes out on a fresh
        // one at once.
        if (joining is not null)
        {
            _coordinator.MarkUnknown(joining, "the member is closing while a JoinGroup or SyncGroup is pending");
        }

        // Whatever a callback or a loop did, the member leaves (when asked) and releases what it holds; a callback the
        // caller's token cancelled is told to the caller only then.
        var cancelled = false;
        try
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            await BackgroundLoop.StoppedAsync(_joinLoop).ConfigureAwait(false);
            await BackgroundLoop.StoppedAsync(_heartbeatLoop).ConfigureAwait(false);

            bool unreported;
            bool held;
            lock (_lock)
            {
                // Failed on the heartbeat loop, and the join loop stopped before it could report the loss: report it now.
                unreported = _state == ClassicMemberState.Failed && !_failed.Task.IsCompleted;
                held = unreported && _holdsAssignment;
                if (unreported)
                {
                    _holdsAssignment = false;
                }
            }

            if (unreported)
            {
                if (held)
                {
                    cancelled = await RunClosingCallbackAsync(() => _protocol.OnLostAsync(cancellationToken), cancellationToken).ConfigureAwait(false);
                }

                _failed.TrySetResult(Volatile.Read(ref _failure)!);
            }

            if (leaveGroup)
            {
                GroupGeneration generation;
                bool holds;
                ClassicMemberState state;
                lock (_lock)
                {
                    generation = _generation;
                    holds = _holdsAssignment;
                    state = _state;
                }

                if (state != ClassicMemberState.Failed)
                {
                    if (generation.GenerationId >= 0 && generation.MemberId.Length > 0 && state == ClassicMemberState.Stable)
                    {
                        cancelled = await RunClosingCallbackAsync(() => _protocol.OnLeavePrepareAsync(generation.GenerationId, generation.MemberId, cancellationToken), cancellationToken).ConfigureAwait(false);
                    }
                    else if (holds)
                    {
                        cancelled = await RunClosingCallbackAsync(() => _protocol.OnLostAsync(cancellationToken), cancellationToken).ConfigureAwait(false);
                    }

                    // The coordinator may be unknown for now only: a JoinGroup or SyncGroup cut short (above, or by the
                    // stop) dropped its connection, or the close's commit, timing out on COORDINATOR_NOT_AVAILABLE or a
                    // lost connection, forgot it. Find it again for the LeaveGroup, for a few seconds at most: skipped,
                    // the group waited a whole session timeout to hand this member's partitions to the others.
                    await MaybeLeaveGroupAsync("the consumer is being closed", GroupLoops.LeaveToken(cancellationToken), mayRediscover: true).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            lock (_lock)
            {
                if (_state != ClassicMemberState.Failed)
                {
                    _state = ClassicMemberState.Closed;
                }
            }

            _stop.Dispose();
            _joinWake.Dispose();
            _heartbeatWake.Dispose();
        }

        if (cancelled)
        {
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Leaves the group (a dynamic member) and stops.</summary>
    public ValueTask DisposeAsync() => CloseAsync(leaveGroup: true);

    private async Task RunJoinLoopAsync(CancellationToken token)
    {
        var failures = 0;
        try
        {
            while (!token.IsCancellationRequested)
            {
                bool failed;
                bool lost;
                bool join;
                lock (_lock)
                {
                    failed = _state == ClassicMemberState.Failed;

                    // The heartbeat loop reset the generation (fenced, session lost, left on a poll timeout): whatever
                    // this member held is gone. Say so now, not at the next join, so the owner stops using it at once.
                    lost = _holdsAssignment && (failed || _generation.GenerationId == -1 || _generation.MemberId.Length == 0);
                    if (lost)
                    {
                        _holdsAssignment = false;
                        _needsJoinPrepare = false;
                    }

                    join = !lost && _rejoinNeeded && !_pollExpired;
                }

                if (failed)
                {
                    // Failed on the heartbeat loop (FailFromHeartbeat): the loss is reported here, once whatever
                    // callback this loop was running has returned.
                    await ReportFailureAsync(lost, token).ConfigureAwait(false);
                    return;
                }

                if (lost)
                {
                    await RunCallbackAsync(() => _protocol.OnLostAsync(token)).ConfigureAwait(false);
                    continue;
                }

                if (!join)
                {
                    await _joinWake.WaitAsync(Timeout.InfiniteTimeSpan, token).ConfigureAwait(false);
                    token.ThrowIfCancellationRequested();
                    continue;
                }

                JoinStep step;
                try
                {
                    step = await JoinOnceAsync(token).ConfigureAwait(false);
                }
                catch (KafkaGroupException ex)
                {
                    await FailAsync(ex, token).ConfigureAwait(false);
                    return;
                }
                catch (KafkaException ex) when (ex.IsRetriable && !token.IsCancellationRequested)
                {
                    MarkUnjoined();
                    step = JoinStep.RetryAfterBackoff;
                    _log.Retrying(GroupId, "joining", _settings.RetryBackoff.TotalMilliseconds, ex.Message);
                }
                catch (KafkaException ex) when (!token.IsCancellationRequested)
                {
                    await FailAsync(KafkaExceptions.GroupRefused(GroupId, ApiKey.JoinGroup, (ex as KafkaErrorException)?.Code ?? ErrorCode.UnknownServerError,
                        ex.Message, "The member cannot join the group."), token).ConfigureAwait(false);
                    return;
                }

                if (step == JoinStep.RetryAfterBackoff)
                {
                    failures++;
                    var backoff = ReconnectBackoff.Next(failures, _settings.RetryBackoff, _settings.RetryBackoffMax);
                    await Task.Delay(backoff, _time, token).ConfigureAwait(false);
                }
                else
                {
                    failures = 0;
                }
            }
        }
        catch (Exception) when (token.IsCancellationRequested)
        {
            // Closing: whatever was in flight (a JoinGroup whose connection was dropped, a cancelled wait) ends here.
        }
    }

    private enum JoinStep
    {
        Done,
        RetryNow,
        RetryAfterBackoff,
    }

    /// <summary>One pass of Java's <c>joinGroupIfNeeded</c>: prepare, JoinGroup, (assign,) SyncGroup, complete.</summary>
    private async Task<JoinStep> JoinOnceAsync(CancellationToken token)
    {
        var connection = await _coordinator.GetConnectionAsync(token).ConfigureAwait(false);

        GroupGeneration previous;
        bool prepare;
        lock (_lock)
        {
            previous = _generation;
            prepare = _needsJoinPrepare;

            // Java sets the flag before the callback: one that throws is not run again for the same rebalance.
            _needsJoinPrepare = false;
        }

        if (prepare)
        {
            // ConsumerCoordinator.onJoinPrepare: a reset generation or member id means whatever was held is lost (no
            // commit possible); otherwise the protocol revokes what it must while it can still commit.
            if (previous.GenerationId == -1 || previous.MemberId.Length == 0)
            {
                bool holds;
                lock (_lock)
                {
                    holds = _holdsAssignment;
                    _holdsAssignment = false;
                }

                if (holds)
                {
                    await RunCallbackAsync(() => _protocol.OnLostAsync(token)).ConfigureAwait(false);
                }
            }
            else
            {
                await RunCallbackAsync(() => _protocol.OnJoinPrepareAsync(previous.GenerationId, previous.MemberId, token)).ConfigureAwait(false);
            }

            // The callback may have taken a while; the coordinator may have moved meanwhile.
            connection = await _coordinator.GetConnectionAsync(token).ConfigureAwait(false);
        }

        var version = connection.ApiVersions.VersionFor(ApiKey.JoinGroup);
        if (_settings.IsStatic && version < 5)
        {
            // Static membership (KIP-345) needs JoinGroup v5; the Java client fails the same way.
            throw KafkaExceptions.GroupRefused(GroupId, ApiKey.JoinGroup, ErrorCode.UnsupportedVersion,
                "the coordinator speaks JoinGroup up to v" + version.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "A group instance id (static membership) needs JoinGroup v5 (Kafka 2.3+): unset it, or upgrade the brokers.");
        }

        // A change of what the member announces asked for once the protocols are read is not in this JoinGroup: it is
        // still owed when this join completes. A rebalance the coordinator asked for is answered by the JoinGroup
        // itself, up to the moment it goes out (below): one asked for while the join ran (REBALANCE_IN_PROGRESS on a
        // heartbeat) would otherwise set off another join after each, for good.
        int changesAnswered;
        lock (_lock)
        {
            changesAnswered = _announcementChanges;
        }

        IReadOnlyList<GroupProtocolMetadata> protocols;
        try
        {
            protocols = _protocol.GetProtocols();
        }
        catch (Exception ex)
        {
            // The protocol's own code (for a consumer, an assignor's subscription user data) failed: the protocol told
            // its owner. Try again after the backoff; escaping, it ended this loop and the member never joined again.
            _log.CallbackFailed(GroupId, ex);
            MarkUnjoined();
            return JoinStep.RetryAfterBackoff;
        }

        GroupGeneration sent;
        string reason;
        int requestsAnswered;
        lock (_lock)
        {
            if (_state == ClassicMemberState.Failed)
            {
                return JoinStep.Done;
            }

            _state = ClassicMemberState.PreparingRebalance;
            _rebalanceConnection = connection;
            sent = _generation;
            reason = _rejoinReason;
            requestsAnswered = _rejoinRequests;
        }

        var wireProtocols = new JoinGroupRequest.JoinGroupRequestProtocol[protocols.Count];
        for (var i = 0; i < wireProtocols.Length; i++)
        {
            wireProtocols[i] = new JoinGroupRequest.JoinGroupRequestProtocol { Name = protocols[i].Name, Metadata = protocols[i].Metadata };
        }

        var request = new JoinGroupRequest
        {
            GroupId = GroupId,
            SessionTimeoutMs = ToMs(_settings.SessionTimeout),
            RebalanceTimeoutMs = ToMs(_settings.RebalanceTimeout),
            MemberId = sent.MemberId,
            GroupInstanceId = _settings.GroupInstanceId,
            ProtocolType = _protocol.ProtocolType,
            Protocols = wireProtocols,
            Reason = version >= 8 && reason.Length > 0 ? Truncate(reason) : null,
        };

        Interlocked.Increment(ref _joinRequests);
        var join = await SendRebalanceRequestAsync<JoinGroupRequest, JoinGroupResponse, JoinResult>(
            connection, request, version, _settings.JoinGroupTimeout, static response => JoinResult.From(response), token).ConfigureAwait(false);

        var step = HandleJoinError(join, sent, connection);
        if (step is not null)
        {
            MarkUnjoined();
            return step.Value;
        }

        lock (_lock)
        {
            if (_state != ClassicMemberState.PreparingRebalance)
            {
                // Closed or failed while the join was in flight: do not go on to SyncGroup.
                return JoinStep.Done;
            }

            _state = ClassicMemberState.CompletingRebalance;
            _generation = new GroupGeneration(join.GenerationId, join.MemberId, join.ProtocolName);
            _isLeader = string.Equals(join.Leader, join.MemberId, StringComparison.Ordinal);
            EnableHeartbeatsLocked();
        }

        _heartbeatWake.Set();
        _log.Joined(GroupId, join.GenerationId, join.MemberId, join.ProtocolName, _isLeader);
        return await SyncAsync(connection, join, requestsAnswered, changesAnswered, token).ConfigureAwait(false);
    }

    /// <summary>Java's <c>JoinGroupResponseHandler</c> for everything but success: null on success, else what to do next.</summary>
    private JoinStep? HandleJoinError(JoinResult join, GroupGeneration sent, BrokerConnection connection)
    {
        switch (join.Error)
        {
            case ErrorCode.None:
                if (join.ProtocolType is not null && !string.Equals(join.ProtocolType, _protocol.ProtocolType, StringComparison.Ordinal))
                {
                    throw KafkaExceptions.GroupRefused(GroupId, ApiKey.JoinGroup, ErrorCode.InconsistentGroupProtocol,
                        "the coordinator answered with protocol type " + join.ProtocolType, "The member cannot join the group.");
                }

                return null;

            case ErrorCode.CoordinatorLoadInProgress:
                _log.GroupError(GroupId, ApiKey.JoinGroup, join.Error, "the coordinator is loading the group; retrying after a backoff");
                return JoinStep.RetryAfterBackoff;

            case ErrorCode.UnknownMemberId:
                // Reset the member id only if the generation has not changed meanwhile, then retry at once.
                lock (_lock)
                {
                    if (_generation == sent)
                    {
                        ResetStateAndRejoinLocked("encountered UNKNOWN_MEMBER_ID from JoinGroup", resetMemberId: true);
                    }
                }

                _log.GroupError(GroupId, ApiKey.JoinGroup, join.Error, "rejoining without a member id");
                return JoinStep.RetryNow;

            case ErrorCode.CoordinatorNotAvailable or ErrorCode.NotCoordinator:
                _coordinator.MarkUnknown(connection, ErrorCodes.Name(join.Error) + " from JoinGroup");
                return JoinStep.RetryAfterBackoff;

            case ErrorCode.MemberIdRequired:
                // KIP-394: the coordinator wants a known member id before it lets a member in; it gave one. Join again
                // with it, at once, with no generation yet (Java: Generation(DEFAULT_GENERATION_ID, memberId, null)).
                lock (_lock)
                {
                    _generation = new GroupGeneration(-1, join.MemberId, null);
                    RequestRejoinLocked("need to re-join with the given member-id: " + join.MemberId);
                }

                return JoinStep.RetryNow;

            case ErrorCode.RebalanceInProgress:
                // Can mean a replication timeout on the broker: retry at once.
                _log.GroupError(GroupId, ApiKey.JoinGroup, join.Error, "retrying");
                return JoinStep.RetryNow;

            case ErrorCode.FencedInstanceId:
                // Java treats it as fatal for JoinGroup even if the generation changed: another instance holds the id.
                throw KafkaExceptions.GroupRefused(GroupId, ApiKey.JoinGroup, join.Error, null,
                    "Another member joined with group instance id '" + _settings.GroupInstanceId + "'; this one stops.");

            case ErrorCode.GroupMaxSizeReached:
                throw KafkaExceptions.GroupRefused(GroupId, ApiKey.JoinGroup, join.Error, null,
                    "The group already has the coordinator's maximum number of members (group.max.size); this member stops.");

            default:
                // INCONSISTENT_GROUP_PROTOCOL, INVALID_SESSION_TIMEOUT, INVALID_GROUP_ID, GROUP_AUTHORIZATION_FAILED,
                // UNSUPPORTED_VERSION, UNRELEASED_INSTANCE_ID and anything unexpected: fatal, as in the Java client.
                throw KafkaExceptions.GroupRefused(GroupId, ApiKey.JoinGroup, join.Error, null, "The member cannot join the group.");
        }
    }

    /// <summary>
    /// Sends a JoinGroup or SyncGroup on <paramref name="connection"/>, which the caller recorded as
    /// <see cref="_rebalanceConnection"/> (close drops it); forgets it once answered.
    /// </summary>
    /// <remarks>
    /// The coordinator holds either request, and everything after it on this connection, until the rebalance gets that
    /// far: a JoinGroup until every member has joined, a follower's SyncGroup until the leader's assignment is in (up to
    /// the rebalance timeout). Close drops the connection of one it finds in flight, but one that went out after it
    /// looked (a prepare callback that returned once close had begun, a join answered and its sync sent between the
    /// look and the stop) would hold the LeaveGroup behind it: when the stop ends the wait, drop the connection here as
    /// well: close finds the coordinator again for its LeaveGroup.
    /// </remarks>
    private async Task<TResult> SendRebalanceRequestAsync<TRequest, TResponse, TResult>(
        BrokerConnection connection, TRequest request, short version, TimeSpan timeout, Func<TResponse, TResult> read, CancellationToken token)
        where TRequest : IKafkaRequest<TRequest, TResponse>
        where TResponse : IKafkaResponse<TResponse>
    {
        try
        {
            return await _coordinator.SendAsync(connection, request, version, timeout, read, token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            _coordinator.MarkUnknown(connection, "the member is closing while a " + TRequest.ApiKey + " is pending");
            throw;
        }
        finally
        {
            lock (_lock)
            {
                _rebalanceConnection = null;
            }
        }
    }

    private void MarkUnjoined()
    {
        lock (_lock)
        {
            if (_state is ClassicMemberState.PreparingRebalance or ClassicMemberState.CompletingRebalance)
            {
                // Java's initiateJoinGroup failure listener: a failed join leaves the member unjoined.
                _state = ClassicMemberState.Unjoined;
            }

            _rejoinNeeded = true;
        }
    }

    private void RequestRejoinLocked(string reason, bool announcementChanged = false)
    {
        if (!_rejoinNeeded || _rejoinReason.Length == 0)
        {
            _log.RejoinRequested(GroupId, reason);
        }

        _rejoinNeeded = true;
        _rejoinReason = reason;
        _rejoinRequests++;
        if (announcementChanged)
        {
            _announcementChanges++;
        }
    }

    /// <summary>Java's <c>resetStateAndRejoin</c>: out of the group, no generation (and no member id, if asked), join prepared again.</summary>
    private void ResetStateAndRejoinLocked(string reason, bool resetMemberId)
    {
        _state = ClassicMemberState.Unjoined;
        _generation = resetMemberId ? GroupGeneration.None : new GroupGeneration(-1, _generation.MemberId, null);
        _isLeader = false;
        RequestRejoinLocked(reason);
        _needsJoinPrepare = true;
    }

    /// <summary>
    /// The heartbeat loop met a fatal error. It marks the member failed and leaves the rest to the join loop: the
    /// callbacks (<see cref="IClassicGroupProtocol.OnLostAsync"/> here) are the application's and run one at a time on
    /// the join loop; run on the heartbeat loop, the loss was reported while an assignment or revocation callback was
    /// still running — or, during an assignment callback, not at all, since what it assigned was not yet held.
    /// </summary>
    private void FailFromHeartbeat(KafkaGroupException error)
    {
        BrokerConnection? rebalancing;
        lock (_lock)
        {
            if (_state == ClassicMemberState.Failed)
            {
                return;
            }

            _state = ClassicMemberState.Failed;
            Volatile.Write(ref _failure, error);
            rebalancing = _rebalanceConnection;
        }

        _log.Failed(GroupId, error);

        // A SyncGroup the coordinator is holding would keep the join loop from the report until the rebalance timeout.
        if (rebalancing is not null)
        {
            _coordinator.MarkUnknown(rebalancing, "the member failed while a JoinGroup or SyncGroup is pending");
        }

        _joinWake.Set();
    }

    /// <summary>Reports the loss of what the member held, if anything, then completes <see cref="Failed"/>.</summary>
    private async Task ReportFailureAsync(bool holds, CancellationToken token)
    {
        if (holds)
        {
            await RunCallbackAsync(() => _protocol.OnLostAsync(token)).ConfigureAwait(false);
        }

        _failed.TrySetResult(Volatile.Read(ref _failure)!);
    }

    /// <summary>The join loop met a fatal error (or finds the heartbeat loop's): the member stops, reporting what it held as lost.</summary>
    private async Task FailAsync(KafkaGroupException error, CancellationToken token)
    {
        bool holds;
        bool first;
        lock (_lock)
        {
            first = _state != ClassicMemberState.Failed;
            if (first)
            {
                _state = ClassicMemberState.Failed;
                Volatile.Write(ref _failure, error);
            }

            // Even when the heartbeat loop failed the member first: this loop reports the loss, and is about to stop.
            holds = _holdsAssignment;
            _holdsAssignment = false;
        }

        if (first)
        {
            _log.Failed(GroupId, error);
            _heartbeatWake.Set();
        }

        await ReportFailureAsync(holds, token).ConfigureAwait(false);
    }

    private Task RunCallbackAsync(Func<ValueTask> callback) => GroupLoops.RunCallbackAsync(callback, _log, GroupId, _stop.Token);

    private Task<bool> RunClosingCallbackAsync(Func<ValueTask> callback, CancellationToken cancellationToken) =>
        GroupLoops.RunClosingCallbackAsync(callback, _log, GroupId, cancellationToken);

    private static int ToMs(TimeSpan value) => (int)Math.Min(int.MaxValue, Math.Max(0, value.TotalMilliseconds));

    /// <summary>Java's <c>JoinGroupRequest.maybeTruncateReason</c>: reasons are capped at 255 characters.</summary>
    private static string Truncate(string reason) => reason.Length <= 255 ? reason : reason[..255];

    /// <summary>The parts of a JoinGroup response the member keeps, with member metadata copied out of the frame.</summary>
    private sealed record JoinResult(ErrorCode Error, int GenerationId, string? ProtocolType, string? ProtocolName, string Leader, bool SkipAssignment, string MemberId, GroupMemberMetadata[] Members)
    {
        public static JoinResult From(JoinGroupResponse response)
        {
            var members = new GroupMemberMetadata[response.Members.Length];
            for (var i = 0; i < members.Length; i++)
            {
                var member = response.Members[i];
                members[i] = new GroupMemberMetadata(member.MemberId, member.GroupInstanceId, member.Metadata.ToArray());
            }

            return new JoinResult(response.ErrorCode, response.GenerationId, response.ProtocolType, response.ProtocolName,
                response.Leader, response.SkipAssignment, response.MemberId, members);
        }
    }
}
