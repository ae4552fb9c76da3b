using Messaging.Connection;
using Messaging.Errors;
using Messaging.Protocol.Messages;
using Messaging.Threading;

namespace Messaging.Groups;

/// <summary>An offset to commit for a partition, with the leader epoch of the record it follows and optional metadata.</summary>
internal readonly record struct OffsetToCommit(TopicPartition Partition, long Offset, int LeaderEpoch = -1, string? Metadata = null);

/// <summary>A committed offset as the coordinator returned it; <see cref="Offset"/> is -1 when nothing is committed.</summary>
internal readonly record struct CommittedOffset(long Offset, int LeaderEpoch, string? Metadata);

/// <summary>
/// Who commits: the classic generation id (or the KIP-848 member epoch), the member id and the static id.
/// <see cref="Standalone"/> commits outside any membership (a consumer with manually assigned partitions).
/// </summary>
internal readonly record struct CommitIdentity(int GenerationIdOrMemberEpoch, string MemberId, string? GroupInstanceId)
{
    public static CommitIdentity Standalone { get; } = new(-1, "", null);
}

/// <summary>
/// OffsetCommit and OffsetFetch through the group's coordinator. Both survive coordinator moves: NOT_COORDINATOR,
/// COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS, other retriable errors and failed connections
/// rediscover and retry with backoff until the api timeout (<c>default.api.timeout.ms</c>), so a caller awaiting a commit gets either success or
/// a <see cref="KafkaCommitException"/> naming the group and the error — never silence.
/// </summary>
/// <remarks>
/// The identity is asked for on every attempt (<c>identity</c> delegate), so a retry after a coordinator move goes out
/// with the member's current generation or epoch: a KIP-848 commit refused with STALE_MEMBER_EPOCH is retried with
/// the new epoch (as the Java client's commit before a revocation is). The caller's delegate decides how far that
/// goes: it answers null once the member has left the generation, or lost the partitions of the epoch, the commit was
/// made in, and the commit then fails without going out again. A classic commit refused with ILLEGAL_GENERATION or
/// UNKNOWN_MEMBER_ID fails (Java's <c>CommitFailedException</c>: the partitions may already belong to another member);
/// REBALANCE_IN_PROGRESS fails as retriable (commit again after the rebalance).
/// </remarks>
internal sealed class GroupOffsets(GroupCoordinator coordinator)
{
    private int _commitRequests;

    /// <summary>OffsetCommit requests sent (tests, diagnostics).</summary>
    public int CommitRequests => Volatile.Read(ref _commitRequests);

    private string GroupId => coordinator.GroupId;

    private GroupMemberSettings Settings => coordinator.Settings;

    /// <summary>Commits <paramref name="offsets"/>, retrying through coordinator moves until the api timeout.</summary>
    /// <param name="offsets">What to commit.</param>
    /// <param name="identity">
    /// Who commits, asked before every attempt; null while the member is between generations (a classic member whose
    /// generation was reset, rejoining): the commit then fails with REBALANCE_IN_PROGRESS without being sent, as the
    /// Java client's does. Sent without a generation it would be a standalone commit, which a coordinator refuses for a
    /// group with members — or, for a group left empty, stores for partitions this member may no longer own.
    /// </param>
    /// <param name="cancellationToken">Ends the wait; whether the coordinator stored an attempt in flight is unknown.</param>
    /// <exception cref="KafkaCommitException">The commit failed for good, or did not succeed before its deadline.</exception>
    public async Task CommitAsync(IReadOnlyList<OffsetToCommit> offsets, Func<CommitIdentity?> identity, CancellationToken cancellationToken)
    {
        if (offsets.Count == 0)
        {
            return;
        }

        // The deadline runs on the group's clock, as the backoffs between attempts do: on the system timer it
        // neither matched them nor could be driven by a test clock, so a commit retried under one never gave up.
        using var timeout = new CancellationTokenSource(Clock.TimerDelay(Settings.DefaultApiTimeout), Settings.Time);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var pending = new List<OffsetToCommit>(offsets);
        var attempts = 0;
        var lastCode = ErrorCode.RequestTimedOut;
        Exception? lastFailure = null;
        try
        {
            while (true)
            {
                if (identity() is not { } who)
                {
                    // Earlier attempts went out and were refused or lost: the commit stops because the member left
                    // the generation it was made in, not before anything was sent.
                    throw KafkaExceptions.CommitFailed(GroupId, ErrorCode.RebalanceInProgress, isRetriable: true, new Dictionary<TopicPartition, ErrorCode>(),
                        attempts == 0
                            ? "The member has no generation (it is joining or rejoining the group, or left it after the max poll interval): nothing was sent. Commit again once it is back in the group, for the partitions still assigned."
                            : "The member left the generation (or, under KIP-848, lost the partitions of the epoch) the commit was made in (it was fenced or is rejoining the group, or left it after the max poll interval) while the commit was being retried: it was not sent again, and nothing was committed for the partitions of the attempts that were refused. Commit again once it is back in the group, for the partitions still assigned.",
                        lastFailure);
                }

                BrokerConnection? connection = null;
                Dictionary<TopicPartition, ErrorCode> errors;
                try
                {
                    connection = await coordinator.GetConnectionAsync(deadline.Token).ConfigureAwait(false);
                    var version = connection.ApiVersions.VersionFor(ApiKey.OffsetCommit);
                    var request = BuildCommit(pending, who);
                    Interlocked.Increment(ref _commitRequests);
                    errors = await coordinator.SendAsync<OffsetCommitRequest, OffsetCommitResponse, Dictionary<TopicPartition, ErrorCode>>(
                        connection, request, version, Settings.RequestTimeout, static response => CommitErrors(response), deadline.Token).ConfigureAwait(false);
                }
                catch (KafkaException ex) when (ex.IsRetriable && !deadline.IsCancellationRequested)
                {
                    lastFailure = ex;
                    lastCode = (ex as KafkaErrorException)?.Code ?? ErrorCode.RequestTimedOut;
                    await BackoffAsync(++attempts, "OffsetCommit", ex.Message, deadline.Token).ConfigureAwait(false);
                    continue;
                }
                catch (KafkaGroupException ex)
                {
                    throw KafkaExceptions.CommitFailed(GroupId, ex.Code, isRetriable: false, new Dictionary<TopicPartition, ErrorCode>(), "Nothing was committed.", ex);
                }

                if (errors.Count == 0)
                {
                    return;
                }

                var retry = Classify(errors, out var worst, out var retriableForCaller);
                if (!retry)
                {
                    throw KafkaExceptions.CommitFailed(GroupId, worst, retriableForCaller, errors, CommitConsequence(worst));
                }

                if (GroupCoordinator.MeansCoordinatorMoved(worst))
                {
                    coordinator.MarkUnknown(connection, ErrorCodes.Name(worst) + " from OffsetCommit");
                }

                pending.RemoveAll(offset => !errors.ContainsKey(offset.Partition)); // committed ones are done
                lastCode = worst;
                lastFailure = null;
                await BackoffAsync(++attempts, "OffsetCommit", ErrorCodes.Name(worst), deadline.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw KafkaExceptions.CommitFailed(GroupId, lastCode, isRetriable: true, new Dictionary<TopicPartition, ErrorCode>(),
                "It did not succeed within the api timeout (DefaultApiTimeout, " + Settings.DefaultApiTimeout.TotalMilliseconds.ToString("0", System.Globalization.CultureInfo.InvariantCulture)
                + " ms); whether the coordinator stored it is unknown.", lastFailure);
        }
    }

    /// <summary>
    /// The committed offsets of <paramref name="partitions"/> (offset -1 where none is committed), with the KIP-848
    /// member id and epoch from <c>identity</c> when given (OffsetFetch v9+ checks them); <c>requireStable</c> makes the
    /// coordinator answer UNSTABLE_OFFSET_COMMIT (retried) while a transaction's offsets are pending.
    /// </summary>
    public async Task<IReadOnlyDictionary<TopicPartition, CommittedOffset>> FetchAsync(IReadOnlyCollection<TopicPartition> partitions, Func<CommitIdentity>? identity, bool requireStable, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(Clock.TimerDelay(Settings.DefaultApiTimeout), Settings.Time); // the group's clock, as for commits
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var attempts = 0;
        var lastCode = ErrorCode.RequestTimedOut; // what the last attempt met, for the error at the deadline
        string? lastFailure = null;
        try
        {
            while (true)
            {
                BrokerConnection? connection = null;
                FetchResult result;
                try
                {
                    connection = await coordinator.GetConnectionAsync(deadline.Token).ConfigureAwait(false);
                    var version = connection.ApiVersions.VersionFor(ApiKey.OffsetFetch);
                    var request = BuildFetch(partitions, identity?.Invoke(), requireStable, version);
                    var groupId = GroupId;
                    result = await coordinator.SendAsync<OffsetFetchRequest, OffsetFetchResponse, FetchResult>(
                        connection, request, version, Settings.RequestTimeout, response => FetchResult.From(response, groupId, version), deadline.Token).ConfigureAwait(false);
                }
                catch (KafkaException ex) when (ex.IsRetriable && !deadline.IsCancellationRequested)
                {
                    lastCode = (ex as KafkaErrorException)?.Code ?? ErrorCode.RequestTimedOut;
                    lastFailure = ex.Message;
                    await BackoffAsync(++attempts, "OffsetFetch", ex.Message, deadline.Token).ConfigureAwait(false);
                    continue;
                }

                var error = result.Error;
                if (error == ErrorCode.None)
                {
                    foreach (var (_, partitionError) in result.PartitionErrors)
                    {
                        error = partitionError;
                        break;
                    }
                }

                if (error == ErrorCode.None)
                {
                    return result.Offsets;
                }

                if (GroupCoordinator.MeansCoordinatorMoved(error))
                {
                    coordinator.MarkUnknown(connection, ErrorCodes.Name(error) + " from OffsetFetch");
                }

                // STALE_MEMBER_EPOCH is retried (with the epoch read afresh) only while the member has one, as Java's
                // isStaleEpochErrorAndValidEpochAvailable: a KIP-848 member out of the group (fenced, rejoining) would
                // only meet the same refusal until the deadline — and one fetching for an assignment callback holds its
                // rejoin back until then, since it rejoins once its reconciliation has reported the loss.
                var staleWithEpoch = error == ErrorCode.StaleMemberEpoch && identity?.Invoke() is { GenerationIdOrMemberEpoch: > 0 };
                if (!ErrorCodes.IsRetriable(error) && !staleWithEpoch)
                {
                    throw KafkaExceptions.BrokerError(error, ApiKey.OffsetFetch, connection.Name, "group '" + GroupId + "'");
                }

                // UNSTABLE_OFFSET_COMMIT (a transaction's offsets pending), COORDINATOR_LOAD_IN_PROGRESS, moves: retry.
                lastCode = error;
                lastFailure = null;
                await BackoffAsync(++attempts, "OffsetFetch", ErrorCodes.Name(error), deadline.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // The api timeout, not the caller: a retriable Kafka error (a consumer holds a partition starting on it
            // with that error), not a cancellation the caller of CommittedAsync would take for its own.
            throw KafkaExceptions.OffsetFetchTimedOut(GroupId, Settings.DefaultApiTimeout, lastCode, lastFailure);
        }
    }

    private OffsetCommitRequest BuildCommit(List<OffsetToCommit> offsets, CommitIdentity identity)
    {
        var byTopic = new Dictionary<string, List<OffsetCommitRequest.OffsetCommitRequestPartition>>(StringComparer.Ordinal);
        foreach (var offset in offsets)
        {
            if (!byTopic.TryGetValue(offset.Partition.Topic, out var list))
            {
                byTopic[offset.Partition.Topic] = list = [];
            }

            list.Add(new OffsetCommitRequest.OffsetCommitRequestPartition
            {
                PartitionIndex = offset.Partition.Partition,
                CommittedOffset = offset.Offset,
                CommittedLeaderEpoch = offset.LeaderEpoch,
                CommittedMetadata = offset.Metadata,
            });
        }

        var topics = new OffsetCommitRequest.OffsetCommitRequestTopic[byTopic.Count];
        var i = 0;
        foreach (var (topic, list) in byTopic)
        {
            topics[i++] = new OffsetCommitRequest.OffsetCommitRequestTopic { Name = topic, Partitions = [.. list] };
        }

        return new OffsetCommitRequest
        {
            GroupId = GroupId,
            GenerationIdOrMemberEpoch = identity.GenerationIdOrMemberEpoch,
            MemberId = identity.MemberId,
            GroupInstanceId = identity.GroupInstanceId,
            Topics = topics,
        };
    }

    private OffsetFetchRequest BuildFetch(IReadOnlyCollection<TopicPartition> partitions, CommitIdentity? identity, bool requireStable, short version)
    {
        var byTopic = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        foreach (var partition in partitions)
        {
            if (!byTopic.TryGetValue(partition.Topic, out var list))
            {
                byTopic[partition.Topic] = list = [];
            }

            list.Add(partition.Partition);
        }

        if (version >= 8)
        {
            var topics = new OffsetFetchRequest.OffsetFetchRequestTopics[byTopic.Count];
            var i = 0;
            foreach (var (topic, list) in byTopic)
            {
                topics[i++] = new OffsetFetchRequest.OffsetFetchRequestTopics { Name = topic, PartitionIndexes = [.. list] };
            }

            var group = new OffsetFetchRequest.OffsetFetchRequestGroup { GroupId = GroupId, Topics = topics };
            if (version >= 9 && identity is { MemberId.Length: > 0 } member)
            {
                group.MemberId = member.MemberId;
                group.MemberEpoch = member.GenerationIdOrMemberEpoch;
            }

            return new OffsetFetchRequest { GroupId = "", Topics = [], Groups = [group], RequireStable = requireStable };
        }

        var legacy = new OffsetFetchRequest.OffsetFetchRequestTopic[byTopic.Count];
        var n = 0;
        foreach (var (topic, list) in byTopic)
        {
            legacy[n++] = new OffsetFetchRequest.OffsetFetchRequestTopic { Name = topic, PartitionIndexes = [.. list] };
        }

        return new OffsetFetchRequest { GroupId = GroupId, Topics = legacy, RequireStable = version >= 7 && requireStable };
    }

    private static Dictionary<TopicPartition, ErrorCode> CommitErrors(OffsetCommitResponse response)
    {
        var errors = new Dictionary<TopicPartition, ErrorCode>();
        foreach (var topic in response.Topics)
        {
            foreach (var partition in topic.Partitions)
            {
                if (partition.ErrorCode != ErrorCode.None)
                {
                    errors[new TopicPartition(topic.Name, partition.PartitionIndex)] = partition.ErrorCode;
                }
            }
        }

        return errors;
    }

    /// <summary>
    /// Java's <c>OffsetCommitResponseHandler</c>: whether to retry, the error that decides, and — for a failure —
    /// whether the caller may commit again later (REBALANCE_IN_PROGRESS: after the rebalance).
    /// </summary>
    private static bool Classify(Dictionary<TopicPartition, ErrorCode> errors, out ErrorCode worst, out bool retriableForCaller)
    {
        worst = ErrorCode.None;
        retriableForCaller = false;
        var retry = true;
        foreach (var error in errors.Values)
        {
            var fatal = error switch
            {
                ErrorCode.IllegalGeneration or ErrorCode.UnknownMemberId or ErrorCode.RebalanceInProgress or ErrorCode.FencedInstanceId
                    or ErrorCode.GroupAuthorizationFailed or ErrorCode.TopicAuthorizationFailed or ErrorCode.OffsetMetadataTooLarge
                    or ErrorCode.InvalidCommitOffsetSize or ErrorCode.FencedMemberEpoch or ErrorCode.UnknownTopicOrPartition => true,
                ErrorCode.StaleMemberEpoch => false, // KIP-848: retry with the member's current epoch
                _ => !ErrorCodes.IsRetriable(error),
            };
            if (fatal && retry)
            {
                retry = false;
                worst = error;
                retriableForCaller = error == ErrorCode.RebalanceInProgress;
            }
            else if (retry && (worst == ErrorCode.None || GroupCoordinator.MeansCoordinatorMoved(error)))
            {
                worst = error;
            }
        }

        return retry;
    }

    private static string CommitConsequence(ErrorCode code) => code switch
    {
        ErrorCode.IllegalGeneration or ErrorCode.UnknownMemberId or ErrorCode.FencedMemberEpoch =>
            "The group has rebalanced and the partitions may belong to another member now: nothing was committed for the refused partitions.",
        ErrorCode.RebalanceInProgress => "The group is rebalancing: commit again once it has completed.",
        ErrorCode.FencedInstanceId => "Another member joined with this member's group instance id.",
        _ => "Nothing was committed for the refused partitions.",
    };

    private async Task BackoffAsync(int attempt, string operation, string reason, CancellationToken cancellationToken)
    {
        var backoff = ReconnectBackoff.Next(attempt, Settings.RetryBackoff, Settings.RetryBackoffMax);
        coordinator.Log.Retrying(GroupId, operation, backoff.TotalMilliseconds, reason);
        await Task.Delay(backoff, Settings.Time, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>An OffsetFetch response, whichever version: the group error, each partition's offset, and partition errors.</summary>
    private sealed record FetchResult(ErrorCode Error, Dictionary<TopicPartition, CommittedOffset> Offsets, Dictionary<TopicPartition, ErrorCode> PartitionErrors)
    {
        public static FetchResult From(OffsetFetchResponse response, string groupId, short version)
        {
            var offsets = new Dictionary<TopicPartition, CommittedOffset>();
            var errors = new Dictionary<TopicPartition, ErrorCode>();
            if (version >= 8)
            {
                foreach (var group in response.Groups)
                {
                    if (!string.Equals(group.GroupId, groupId, StringComparison.Ordinal))
                    {
                        continue;
                    }

                    foreach (var topic in group.Topics)
                    {
                        foreach (var p in topic.Partitions)
                        {
                            Add(new TopicPartition(topic.Name, p.PartitionIndex), p.CommittedOffset, p.CommittedLeaderEpoch, p.Metadata, p.ErrorCode);
                        }
                    }

                    return new FetchResult(group.ErrorCode, offsets, errors);
                }

                return new FetchResult(ErrorCode.CoordinatorNotAvailable, offsets, errors);
            }

            foreach (var topic in response.Topics)
            {
                foreach (var p in topic.Partitions)
                {
                    Add(new TopicPartition(topic.Name, p.PartitionIndex), p.CommittedOffset, p.CommittedLeaderEpoch, p.Metadata, p.ErrorCode);
                }
            }

            return new FetchResult(response.ErrorCode, offsets, errors);

            void Add(TopicPartition partition, long offset, int epoch, string? metadata, ErrorCode error)
            {
                if (error != ErrorCode.None)
                {
                    errors[partition] = error;
                }
                else
                {
                    offsets[partition] = new CommittedOffset(offset, epoch, metadata);
                }
            }
        }
    }
}
