using Messaging.Threading;
using Messaging.Connection;
using Messaging.Errors;
using Messaging.Protocol.Messages;

namespace Messaging.Groups;

/// <summary>The heartbeat loop and the application-poll watchdog of <see cref="ClassicGroupMember"/>.</summary>
/// <remarks>
/// <para>Timers, as the Java client's <c>Heartbeat</c> class keeps them: the session timer restarts on every
/// successful heartbeat (and when heartbeats are enabled or a coordinator is found); the heartbeat timer is the
/// next time to send (the interval after a send, the retry backoff after a failure); the poll timer restarts on
/// every <see cref="NotifyPolled"/>.</para>
/// <para>The loop runs only while the member is in a generation (completing a rebalance or stable). It awaits its
/// own requests only: callbacks and the application run elsewhere, so a slow application never delays a heartbeat.</para>
/// </remarks>
internal sealed partial class ClassicGroupMember
{
    private readonly AsyncSignal _heartbeatWake;
    private DateTimeOffset _lastPoll;
    private DateTimeOffset _sessionStart;
    private DateTimeOffset _nextHeartbeatAt;
    private int _heartbeatFailures;
    private bool _pollExpired;
    private bool _awaitingRecords;

    // No max-poll expiry before the application's first poll (see ConsumerGroupMember: we join from Subscribe, and a
    // consume loop that starts late has not stopped polling).
    private bool _polled;
    private int _heartbeatsSent;

    /// <summary>Heartbeat requests sent (tests, diagnostics).</summary>
    public int HeartbeatsSent => Volatile.Read(ref _heartbeatsSent);

    /// <summary>True while the member is out of the group because the application stopped polling.</summary>
    public bool LeftOnPollTimeout
    {
        get
        {
            lock (_lock)
            {
                return _pollExpired;
            }
        }
    }

    /// <summary>
    /// The application polled. Restarts the max-poll-interval timer; a member that left because the application had
    /// stopped polling rejoins now.
    /// </summary>
    public void NotifyPolled()
    {
        var rejoin = false;
        lock (_lock)
        {
            _lastPoll = _time.GetUtcNow();
            _polled = true;
            if (_pollExpired)
            {
                _pollExpired = false;
                rejoin = true;
                RequestRejoinLocked("the application polled again after the max poll interval had expired");
            }
        }

        if (rejoin)
        {
            _joinWake.Set();
        }
    }

    /// <summary>
    /// The application is waiting for records (true) or got some (false). A wait for records is a poll in progress:
    /// the max-poll-interval timer does not run out while the application waits on an idle topic.
    /// </summary>
    public void NotifyAwaitingRecords(bool awaiting)
    {
        lock (_lock)
        {
            _awaitingRecords = awaiting;
        }

        NotifyPolled();
    }

    /// <summary>Called under the lock when the member enters a generation (Java's <c>HeartbeatThread.enable</c> resets every timer).</summary>
    private void EnableHeartbeatsLocked()
    {
        var now = _time.GetUtcNow();
        _sessionStart = now;
        _lastPoll = now;
        _nextHeartbeatAt = now;
        _heartbeatFailures = 0;
    }

    private enum HeartbeatAction
    {
        Idle,
        Wait,
        Send,
        SessionExpired,
        PollExpired,
    }

    private async Task RunHeartbeatLoopAsync(CancellationToken token)
    {
        try
        {
            while (!token.IsCancellationRequested)
            {
                HeartbeatAction action;
                var wait = Timeout.InfiniteTimeSpan;
                var generation = GroupGeneration.None;
                var sentWhileStable = false;
                var pollElapsed = TimeSpan.Zero;
                var responseWithin = _settings.RequestTimeout;
                lock (_lock)
                {
                    var now = _time.GetUtcNow();
                    if (_state is not (ClassicMemberState.CompletingRebalance or ClassicMemberState.Stable))
                    {
                        action = HeartbeatAction.Idle;
                    }
                    else if (now - _sessionStart >= _settings.SessionTimeout)
                    {
                        action = HeartbeatAction.SessionExpired;
                        _sessionStart = now; // as a coordinator lookup would (Java resets the session timer on discovery)
                    }
                    else if (_polled && !_awaitingRecords && now - _lastPoll >= _settings.MaxPollInterval)
                    {
                        action = HeartbeatAction.PollExpired;
                        pollElapsed = now - _lastPoll;
                    }
                    else if (now < _nextHeartbeatAt)
                    {
                        action = HeartbeatAction.Wait;
                        wait = Min(_nextHeartbeatAt - now, _sessionStart + _settings.SessionTimeout - now, _awaitingRecords || !_polled ? TimeSpan.MaxValue : _lastPoll + _settings.MaxPollInterval - now);
                    }
                    else
                    {
                        action = HeartbeatAction.Send;
                        _nextHeartbeatAt = now + _settings.HeartbeatInterval;

                        // The session check above cannot run while this loop awaits the heartbeat: bound the wait by
                        // the session, so a coordinator that stopped answering (a half-open connection after its host
                        // died) is given up at session expiry, as Java's heartbeat thread does, not a request timeout later.
                        var sessionLeft = _sessionStart + _settings.SessionTimeout - now;
                        responseWithin = sessionLeft < responseWithin ? sessionLeft : responseWithin;
                        generation = _generation;
                        sentWhileStable = _state == ClassicMemberState.Stable;
                    }
                }

                switch (action)
                {
                    case HeartbeatAction.Idle:
                    case HeartbeatAction.Wait:
                        await _heartbeatWake.WaitAsync(wait, token).ConfigureAwait(false);
                        token.ThrowIfCancellationRequested();
                        break;

                    case HeartbeatAction.SessionExpired:
                        // No successful heartbeat for a whole session: make sure the coordinator is still the right one.
                        if (CurrentCoordinatorConnection() is { } stale)
                        {
                            _coordinator.MarkUnknown(stale, "session timed out without receiving a heartbeat response");
                        }

                        break;

                    case HeartbeatAction.PollExpired:
                        await HandlePollTimeoutAsync(pollElapsed, token).ConfigureAwait(false);
                        break;

                    case HeartbeatAction.Send:
                        await HeartbeatOnceAsync(generation, sentWhileStable, responseWithin, token).ConfigureAwait(false);
                        break;
                }
            }
        }
        catch (Exception) when (token.IsCancellationRequested)
        {
            // Closing: a heartbeat or leave in flight ends here.
        }
    }

    private BrokerConnection? CurrentCoordinatorConnection() => _coordinator.Current;

    /// <param name="sent">The generation the heartbeat speaks for.</param>
    /// <param name="sentWhileStable">Whether the member was stable (its SyncGroup done) when the heartbeat went out.</param>
    /// <param name="responseWithin">How long to wait for the response before the coordinator is marked unknown.</param>
    /// <param name="token">Stops the member.</param>
    private async Task HeartbeatOnceAsync(GroupGeneration sent, bool sentWhileStable, TimeSpan responseWithin, CancellationToken token)
    {
        BrokerConnection? connection = null;
        ErrorCode error;
        try
        {
            connection = await _coordinator.GetConnectionAsync(token).ConfigureAwait(false);
            var version = connection.ApiVersions.VersionFor(ApiKey.Heartbeat);
            var request = new HeartbeatRequest
            {
                GroupId = GroupId,
                GenerationId = sent.GenerationId,
                MemberId = sent.MemberId,
                GroupInstanceId = version >= 3 ? _settings.GroupInstanceId : null,
            };
            Interlocked.Increment(ref _heartbeatsSent);
            error = await _coordinator.SendAsync<HeartbeatRequest, HeartbeatResponse, ErrorCode>(
                connection, request, version, responseWithin, static response => response.ErrorCode, token).ConfigureAwait(false);
        }
        catch (KafkaGroupException ex)
        {
            FailFromHeartbeat(ex);
            return;
        }
        catch (KafkaException ex) when (!ex.IsRetriable && !token.IsCancellationRequested)
        {
            // As the join does (and Java's heartbeat thread): a failure retrying cannot mend — the brokers refused the
            // credentials at a session renewal — stops the member. Retried, it kept a stable member heartbeating
            // into the refusal for good, the group never told.
            FailFromHeartbeat(KafkaExceptions.GroupRefused(GroupId, ApiKey.Heartbeat, (ex as KafkaErrorException)?.Code ?? ErrorCode.UnknownServerError,
                ex.Message, "The member stops."));
            return;
        }
        catch (KafkaException ex) when (!token.IsCancellationRequested)
        {
            FailHeartbeat(ex.Message);
            return;
        }

        // Java's HeartbeatResponseHandler and the heartbeat thread's listener.
        switch (error)
        {
            case ErrorCode.None:
                ReceivedHeartbeat();
                break;

            case ErrorCode.CoordinatorNotAvailable or ErrorCode.NotCoordinator:
                _coordinator.MarkUnknown(connection, ErrorCodes.Name(error) + " from Heartbeat");
                FailHeartbeat(ErrorCodes.Name(error));
                break;

            case ErrorCode.RebalanceInProgress:
                // Heartbeating during a rebalance is valid and keeps the member in the group for the rebalance
                // timeout; in the stable state it means another member started one: rejoin. Java reads the state when
                // it handles the response, which on its one network thread is in wire order. Our heartbeat and join
                // loops continue on any thread in any order: a heartbeat sent while the member completed its join
                // (the coordinator answers it REBALANCE_IN_PROGRESS until the SyncGroup is in) can be handled after
                // the SyncGroup made the member stable — taken as a new rebalance, it rejoined every fresh member at
                // random, and a coordinator that waits for absent members (librdkafka's mock: the session timeout)
                // then held the group for that long. So: only a heartbeat sent while stable, for this generation.
                var rejoin = false;
                lock (_lock)
                {
                    if (sentWhileStable && _state == ClassicMemberState.Stable && _generation.GenerationId == sent.GenerationId)
                    {
                        RequestRejoinLocked("group is already rebalancing");
                        rejoin = true;
                    }
                }

                ReceivedHeartbeat();
                if (rejoin)
                {
                    _joinWake.Set();
                }

                break;

            case ErrorCode.IllegalGeneration or ErrorCode.UnknownMemberId or ErrorCode.FencedInstanceId:
                bool current;
                lock (_lock)
                {
                    current = _generation == sent;
                    if (current && error != ErrorCode.FencedInstanceId)
                    {
                        // ILLEGAL_GENERATION keeps the member id: it is still valid.
                        ResetStateAndRejoinLocked("encountered " + ErrorCodes.Name(error) + " from Heartbeat", resetMemberId: error != ErrorCode.IllegalGeneration);
                    }
                }

                if (!current)
                {
                    // A response to a heartbeat of an older generation: ignore it (Java does).
                    ReceivedHeartbeat();
                }
                else if (error == ErrorCode.FencedInstanceId)
                {
                    FailFromHeartbeat(KafkaExceptions.GroupRefused(GroupId, ApiKey.Heartbeat, error, null,
                        "Another member joined with group instance id '" + _settings.GroupInstanceId + "'; this one stops."));
                }
                else
                {
                    _log.GroupError(GroupId, ApiKey.Heartbeat, error, "the assignment is lost; rejoining");
                    _joinWake.Set();
                }

                break;

            case ErrorCode.GroupAuthorizationFailed:
                FailFromHeartbeat(KafkaExceptions.GroupRefused(GroupId, ApiKey.Heartbeat, error, null, "The member stops."));
                break;

            default:
                // Unexpected errors fail this heartbeat only (Java: failHeartbeat and retry after the backoff).
                FailHeartbeat(ErrorCodes.Name(error));
                break;
        }
    }

    private void ReceivedHeartbeat()
    {
        lock (_lock)
        {
            _sessionStart = _time.GetUtcNow();
            _heartbeatFailures = 0;
        }
    }

    private void FailHeartbeat(string reason)
    {
        TimeSpan backoff;
        lock (_lock)
        {
            _heartbeatFailures++;
            backoff = ReconnectBackoff.Next(_heartbeatFailures, _settings.RetryBackoff, _settings.RetryBackoffMax);
            _nextHeartbeatAt = _time.GetUtcNow() + backoff;
        }

        _log.Retrying(GroupId, "heartbeat", backoff.TotalMilliseconds, reason);
    }

    /// <summary>
    /// Java's <c>handlePollTimeoutExpiry</c>: the application stalled between polls, so the member leaves (a dynamic
    /// member sends LeaveGroup; a static one only drops its generation) and stays out until the application polls.
    /// Logged once per expiry.
    /// </summary>
    private async Task HandlePollTimeoutAsync(TimeSpan elapsed, CancellationToken token)
    {
        lock (_lock)
        {
            if (_pollExpired)
            {
                return;
            }

            _pollExpired = true;
        }

        _log.PollTimeoutExpired(GroupId, elapsed.TotalMilliseconds, _settings.MaxPollInterval.TotalMilliseconds);
        await MaybeLeaveGroupAsync("consumer poll timeout has expired.", token).ConfigureAwait(false);
        _joinWake.Set(); // the join loop reports the lost assignment and waits for the next poll
    }

    /// <summary>
    /// Java's <c>maybeLeaveGroup</c>: a dynamic member in a generation with a known coordinator sends LeaveGroup (one
    /// best-effort attempt, no retry); a static member never does (KIP-345). Either way the generation is reset.
    /// </summary>
    private async Task MaybeLeaveGroupAsync(string reason, CancellationToken token, bool mayRediscover = false)
    {
        GroupGeneration generation;
        bool send;
        lock (_lock)
        {
            generation = _generation;
            send = !_settings.IsStatic && _state != ClassicMemberState.Unjoined && generation.MemberId.Length > 0;
            ResetStateAndRejoinLocked("consumer pro-actively leaving the group", resetMemberId: true);
        }

        if (!send || (_coordinator.CoordinatorId < 0 && !mayRediscover))
        {
            return;
        }

        _log.Leaving(GroupId, generation.MemberId, reason);
        // The time limit runs on the group's clock, as every other group timer does: on the system timer it could not
        // be driven by the clock the member was given, so under another one a close waited on an unanswered leave.
        using var timeout = new CancellationTokenSource(Clock.TimerDelay(_settings.RequestTimeout), _time);
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(token, timeout.Token);
        token = bounded.Token;
        try
        {
            var connection = await GroupLoops.LeaveConnectionAsync(_coordinator, token).ConfigureAwait(false);
            var version = connection.ApiVersions.VersionFor(ApiKey.LeaveGroup);
            // v3 (KIP-345) turned the single member id into a list of members.
            var request = version >= 3
                ? new LeaveGroupRequest
                {
                    GroupId = GroupId,
                    Members = [new LeaveGroupRequest.MemberIdentity { MemberId = generation.MemberId, Reason = version >= 5 ? Truncate(reason) : null }],
                }
                : new LeaveGroupRequest { GroupId = GroupId, MemberId = generation.MemberId };
            var error = await _coordinator.SendAsync<LeaveGroupRequest, LeaveGroupResponse, ErrorCode>(
                connection, request, version, _settings.RequestTimeout, static response => response.ErrorCode != ErrorCode.None || response.Members.Length == 0 ? response.ErrorCode : response.Members[0].ErrorCode, token).ConfigureAwait(false);
            if (error != ErrorCode.None)
            {
                _log.GroupError(GroupId, ApiKey.LeaveGroup, error, "the coordinator removes the member after its session timeout instead");
            }
        }
        catch (Exception ex) when (ex is KafkaException or OperationCanceledException)
        {
            _log.Retrying(GroupId, "LeaveGroup (not retried)", 0, ex.Message);
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b, TimeSpan c)
    {
        var min = a < b ? a : b;
        min = min < c ? min : c;
        return min < TimeSpan.Zero ? TimeSpan.Zero : min;
    }
}
