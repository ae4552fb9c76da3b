using Messaging.Connection;
using Messaging.Errors;
using Messaging.Protocol.Messages;
using Messaging.Threading;

namespace Messaging.Groups;

/// <summary>
/// The SyncGroup half of a <see cref="ClassicGroupMember"/>'s rebalance: the leader's assignment (through the embedded
/// protocol), the request, its errors as the Java client handles them, and the assignment taken from the answer.
/// </summary>
internal sealed partial class ClassicGroupMember
{
    /// <param name="connection">The connection the JoinGroup went out on.</param>
    /// <param name="join">Its answer.</param>
    /// <param name="requestsAnswered">The rejoin requests made until the JoinGroup went out; any made since are still owed.</param>
    /// <param name="changesAnswered">The changes of what the member announces made until it read its protocols; any made since are still owed.</param>
    /// <param name="token">Stops the member.</param>
    private async Task<JoinStep> SyncAsync(BrokerConnection connection, JoinResult join, int requestsAnswered, int changesAnswered, CancellationToken token)
    {
        IReadOnlyDictionary<string, ReadOnlyMemory<byte>> assignments = NoAssignments;
        var isLeader = string.Equals(join.Leader, join.MemberId, StringComparison.Ordinal);

        // KIP-814: a static leader rejoining with SkipAssignment keeps the group's assignment: it sends none, but is
        // the leader all the same and watches the group's topics.
        if (isLeader)
        {
            try
            {
                assignments = await _protocol.AssignAsync(join.ProtocolName ?? "", join.Members, join.SkipAssignment, token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !token.IsCancellationRequested)
            {
                // A cancellation that is not the member's stop (an assignor's own call timed out) is a failure like any
                // other: let through, it ended the join loop and the member never joined again.
                _log.CallbackFailed(GroupId, ex);
                MarkUnjoined();
                RequestRejoin("the leader's assignment failed", announcementChanged: false);
                return JoinStep.RetryAfterBackoff;
            }
        }

        var wire = new SyncGroupRequest.SyncGroupRequestAssignment[assignments.Count];
        var n = 0;
        foreach (var (memberId, bytes) in assignments)
        {
            wire[n++] = new SyncGroupRequest.SyncGroupRequestAssignment { MemberId = memberId, Assignment = bytes };
        }

        GroupGeneration sent;
        lock (_lock)
        {
            sent = _generation;
            _rebalanceConnection = connection;
        }

        var version = connection.ApiVersions.VersionFor(ApiKey.SyncGroup);
        var request = new SyncGroupRequest
        {
            GroupId = GroupId,
            GenerationId = sent.GenerationId,
            MemberId = sent.MemberId,
            GroupInstanceId = version >= 3 ? _settings.GroupInstanceId : null,
            ProtocolType = version >= 5 ? _protocol.ProtocolType : null,
            ProtocolName = version >= 5 ? sent.ProtocolName : null,
            Assignments = wire,
        };

        var sync = await SendRebalanceRequestAsync<SyncGroupRequest, SyncGroupResponse, SyncResult>(
            connection, request, version, Clock.Sum(_settings.RequestTimeout, _settings.RebalanceTimeout), static response => SyncResult.From(response), token).ConfigureAwait(false);

        var step = HandleSyncError(sync, sent, connection);
        if (step is not null)
        {
            MarkUnjoined();
            return step.Value;
        }

        GroupGeneration generation;
        lock (_lock)
        {
            // The heartbeat loop may have reset the generation while SyncGroup was in flight: then this rebalance
            // failed; retry at once (Java raises ILLEGAL_GENERATION for that).
            if (_generation.IsReset || _state != ClassicMemberState.CompletingRebalance)
            {
                RequestRejoinLocked("the generation was reset before the SyncGroup response");
                return JoinStep.RetryNow;
            }

            if (sync.ProtocolName is not null && !string.Equals(sync.ProtocolName, _generation.ProtocolName, StringComparison.Ordinal))
            {
                throw KafkaExceptions.GroupRefused(GroupId, ApiKey.SyncGroup, ErrorCode.InconsistentGroupProtocol,
                    "the coordinator answered with protocol " + sync.ProtocolName + " for generation protocol " + _generation.ProtocolName, "The member stops.");
            }

            _state = ClassicMemberState.Stable;
            if (_rejoinRequests == requestsAnswered && _announcementChanges == changesAnswered)
            {
                _rejoinNeeded = false;
                _rejoinReason = "";
            }
            else
            {
                // Java's rejoinNeededOrPending: a rejoin asked for while this join was in flight (the subscription or
                // a partition count changed after the protocols were read, or the coordinator asked for one after the
                // JoinGroup went out) is still owed — the join loop starts it once this assignment is in.
                _log.RejoinRequested(GroupId, _rejoinReason + " (asked for during the previous join)");
            }

            generation = _generation;
        }

        string? rejoin = null;
        await RunCallbackAsync(async () => rejoin = await _protocol.OnAssignedAsync(generation.ProtocolName ?? "", generation.GenerationId, sync.Assignment, token).ConfigureAwait(false)).ConfigureAwait(false);
        lock (_lock)
        {
            _holdsAssignment = true;
            _needsJoinPrepare = true;
            if (_generation != generation)
            {
                // Reset by the heartbeat loop during the callback: the join loop reports the loss next turn.
                return JoinStep.RetryNow;
            }
        }

        Interlocked.Increment(ref _completedRebalances);
        if (rejoin is not null)
        {
            RequestRejoin(rejoin);
        }

        return JoinStep.Done;
    }

    /// <summary>Java's <c>SyncGroupResponseHandler</c> for everything but success.</summary>
    private JoinStep? HandleSyncError(SyncResult sync, GroupGeneration sent, BrokerConnection connection)
    {
        switch (sync.Error)
        {
            case ErrorCode.None:
                if (sync.ProtocolType is not null && !string.Equals(sync.ProtocolType, _protocol.ProtocolType, StringComparison.Ordinal))
                {
                    throw KafkaExceptions.GroupRefused(GroupId, ApiKey.SyncGroup, ErrorCode.InconsistentGroupProtocol,
                        "the coordinator answered with protocol type " + sync.ProtocolType, "The member stops.");
                }

                return null;

            case ErrorCode.RebalanceInProgress:
                _log.GroupError(GroupId, ApiKey.SyncGroup, sync.Error, "the group began another rebalance; rejoining");
                RequestRejoin("SyncGroup: REBALANCE_IN_PROGRESS", announcementChanged: false);
                return JoinStep.RetryNow;

            case ErrorCode.UnknownMemberId or ErrorCode.IllegalGeneration:
                lock (_lock)
                {
                    if (_generation == sent)
                    {
                        // ILLEGAL_GENERATION keeps the member id: it may still be valid, and reusing it spares the
                        // coordinator waiting for the old id to time out in the next rebalance.
                        ResetStateAndRejoinLocked("encountered " + ErrorCodes.Name(sync.Error) + " from SyncGroup", resetMemberId: sync.Error != ErrorCode.IllegalGeneration);
                    }
                }

                _log.GroupError(GroupId, ApiKey.SyncGroup, sync.Error, "rejoining");
                return JoinStep.RetryNow;

            case ErrorCode.CoordinatorNotAvailable or ErrorCode.NotCoordinator:
                _coordinator.MarkUnknown(connection, ErrorCodes.Name(sync.Error) + " from SyncGroup");
                RequestRejoin("SyncGroup: coordinator moved", announcementChanged: false);
                return JoinStep.RetryAfterBackoff;

            case ErrorCode.InvalidRequest:
                // A coordinator that closed the sync when the leader's assignment arrived answers a follower whose
                // SyncGroup came after it so (librdkafka's mock cluster does; a slow follower meets it under load):
                // that generation is over for this member. librdkafka rejoins on every SyncGroup error but a fenced
                // instance id; stopping for good here kept a member out of its group.
                _log.GroupError(GroupId, ApiKey.SyncGroup, sync.Error, "the coordinator closed this generation's sync; rejoining");
                RequestRejoin("SyncGroup: INVALID_REQUEST", announcementChanged: false);
                return JoinStep.RetryAfterBackoff;

            case ErrorCode.FencedInstanceId:
                throw KafkaExceptions.GroupRefused(GroupId, ApiKey.SyncGroup, sync.Error, null,
                    "Another member joined with group instance id '" + _settings.GroupInstanceId + "'; this one stops.");

            default:
                throw KafkaExceptions.GroupRefused(GroupId, ApiKey.SyncGroup, sync.Error, null, "The member stops.");
        }
    }

    /// <summary>The parts of a SyncGroup response the member keeps, with the assignment copied out of the frame.</summary>
    private sealed record SyncResult(ErrorCode Error, string? ProtocolType, string? ProtocolName, ReadOnlyMemory<byte> Assignment)
    {
        public static SyncResult From(SyncGroupResponse response) =>
            new(response.ErrorCode, response.ProtocolType, response.ProtocolName, response.Assignment.ToArray());
    }
}
