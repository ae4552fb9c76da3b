using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Messaging.Cluster;
using Messaging.Errors;
using Messaging.Groups;
using Messaging.Threading;
using Microsoft.Extensions.Logging;

namespace Messaging.Consumer;

/// <summary>
/// The consumer's side of its consumer group: the membership (classic or KIP-848) while subscribed, the assignment it
/// gets turned into fetcher partitions, the application's rebalance listener, stored offsets and commits (automatic
/// and explicit). Exists for every consumer with a <see cref="KafkaConsumerOptions.GroupId"/>; a consumer that only
/// assigns partitions uses it for commits alone.
/// </summary>
/// <remarks>
/// <para>Assignment changes arrive from the member's loop (<see cref="IGroupAssignmentListener"/>), one at a time.
/// Revoked and lost partitions leave the fetcher <em>before</em> the application's callback runs, so once the callback
/// runs no record of them is handed out; their consumed positions are captured at that moment (automatic offset store)
/// and committed after the callback (automatic commit). Assigned partitions start at the committed offset, fetched
/// first, or at <see cref="KafkaConsumerOptions.AutoOffsetReset"/>; the callback runs after, so a seek in it wins.</para>
/// <para>Commits go through one gate, so they reach the coordinator in the order they were made and a later commit
/// never lands before an earlier one.</para>
/// </remarks>
internal sealed partial class ConsumerGroup : IGroupAssignmentListener, IAsyncDisposable
{
    /// <summary>
    /// How long <see cref="DisposeAsync"/> waits for the final commits and the revocation: the Java client's default
    /// close timeout (<c>DEFAULT_CLOSE_TIMEOUT_MS</c>).
    /// </summary>
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(30);

    private readonly KafkaConsumerOptions _options;
    private readonly ClusterClient _cluster;
    private readonly Fetcher _fetcher;
    private readonly GroupCoordinator _coordinator;
    private readonly GroupOffsets _offsets;
    private readonly GroupLog _log;
    private readonly StoredOffsets _stored = new();
    private readonly SemaphoreSlim _commitGate = new(1, 1);
    private readonly AsyncSignal _wake;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private readonly Task _loop;
    private readonly Func<IConsumerPartitionAssignor>[] _customAssignors;
    private readonly PendingFailures _pendingFailures = new(); // the listener's and the group's errors, thrown by the next consume calls
    private ClassicGroupMember? _classic;
    private ConsumerGroupMember? _member;
    private IConsumerRebalanceListener? _listener;
    private IReadOnlyCollection<string> _topics = [];
    private Regex? _pattern;
    private Dictionary<string, int>? _assignedCounts; // every topic of the group's subscription at the last assignment, 0 where none
    private int _assignedGeneration = -1; // the classic generation _assignedCounts were read for
    private CancellationTokenSource? _backgroundCommit; // the background automatic commit out now (under _lock): a commit of every stored offset supersedes it
    private int _storedCommits; // commits of every stored offset waiting or running: a background automatic commit meanwhile would only repeat them
    private IReadOnlyCollection<string>? _leaderTopics; // the classic leader: every member's topics, whose metadata it watches
    private int _matchNow; // a pattern subscription was made: match it against fresh metadata without waiting for the next check
    private int _closed;

    public ConsumerGroup(KafkaConsumerOptions options, ClusterClient cluster, Fetcher fetcher)
    {
        _options = options;
        _cluster = cluster;
        _fetcher = fetcher;
        _wake = new AsyncSignal(cluster.Settings.Clock);
        _customAssignors = [.. options.CustomPartitionAssignors]; // the options object may change after the consumer is built
        var settings = new GroupMemberSettings(options.GroupId!)
        {
            GroupInstanceId = options.GroupInstanceId,
            SessionTimeout = options.SessionTimeout,
            HeartbeatInterval = options.HeartbeatInterval,
            MaxPollInterval = options.MaxPollInterval,
            RebalanceTimeout = options.RebalanceTimeout ?? options.MaxPollInterval,
            RetryBackoff = options.RetryBackoff,
            // Doubling up to 1 s (retry.backoff.max.ms's default); a longer retry backoff is waited as set, as the Java
            // client waits a retry.backoff.ms set above it, not cut down to the cap.
            RetryBackoffMax = options.RetryBackoff > GroupMemberSettings.DefaultRetryBackoffMax ? options.RetryBackoff : GroupMemberSettings.DefaultRetryBackoffMax,
            RequestTimeout = options.RequestTimeout,
            DefaultApiTimeout = options.DefaultApiTimeout,
            RackId = options.ClientRack.Length == 0 ? null : options.ClientRack,
            Time = options.TimeProvider,
            LoggerFactory = options.LoggerFactory,
        };
        settings.Validate();
        _coordinator = new GroupCoordinator(cluster, settings);
        _offsets = new GroupOffsets(_coordinator);
        _log = _coordinator.Log;
        _loop = Task.Run(() => RunAsync(_stop.Token), CancellationToken.None);
    }

    public string GroupId => _coordinator.GroupId;

    /// <summary>True while subscribed (a member of the group).</summary>
    public bool IsSubscribed
    {
        get
        {
            lock (_lock)
            {
                return _classic is not null || _member is not null;
            }
        }
    }

    /// <summary>The subscribed topics (for a pattern: the topics it matches now).</summary>
    public IReadOnlyCollection<string> Subscription => Volatile.Read(ref _topics);

    /// <summary>The member id the coordinator knows this member by, or null before it joined.</summary>
    public string? MemberId
    {
        get
        {
            lock (_lock)
            {
                var id = _member?.MemberId ?? _classic?.Generation.MemberId;
                return string.IsNullOrEmpty(id) ? null : id;
            }
        }
    }

    internal ClassicGroupMember? ClassicMember => _classic;

    internal ConsumerGroupMember? Kip848Member => _member;

    internal GroupCoordinator Coordinator => _coordinator;

    /// <summary>Joins the group (or changes the subscription of the member that already did).</summary>
    public void Subscribe(IReadOnlyCollection<string>? topics, Regex? pattern, IConsumerRebalanceListener? listener)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _closed) != 0, this);
        lock (_lock)
        {
            if (_classic is null && _member is null)
            {
                // Offsets stored for partitions the application assigned itself (and has unassigned: KafkaConsumer
                // checks) are not the member's to commit: the group may give those partitions to another member, whose
                // progress a commit of them would overwrite. They go, as the Java client's unsubscribe drops them.
                _ = _stored.Clear();
            }

            _listener = listener;
            _pattern = pattern is null ? null : WholeName(pattern);
            // A match that times out here leaves the topic out: the check that follows at once matches again and reports it.
            Volatile.Write(ref _topics, _pattern is null ? topics! : Match(_pattern, _cluster.Metadata.Current, [], []));
            TrackTopicsLocked();

            if (_options.GroupProtocol == GroupProtocol.Classic)
            {
                if (_classic is null)
                {
                    var protocol = new ClassicConsumerProtocol(
                        PartitionAssignors.Resolve(_options.PartitionAssignmentStrategy, _customAssignors),
                        () => Volatile.Read(ref _topics), PartitionCountsAsync, this, _options.ClientRack.Length == 0 ? null : _options.ClientRack);
                    _classic = new ClassicGroupMember(_coordinator, protocol);
                    WakeConsumerOnFailure(_classic.Failed);
                    _classic.Start();
                }
                else
                {
                    _classic.RequestRejoin("the subscription changed");
                }
            }
            else
            {
                var subscription = pattern is null
                    ? new ConsumerGroupSubscription([.. topics!], null, _options.GroupRemoteAssignor)
                    : new ConsumerGroupSubscription(null, pattern.ToString(), _options.GroupRemoteAssignor);
                if (_member is null)
                {
                    _member = new ConsumerGroupMember(_coordinator, subscription, this);
                    WakeConsumerOnFailure(_member.Failed);
                    _member.Start();
                }
                else
                {
                    _member.Subscribe(subscription);
                }
            }
        }

        if (pattern is not null)
        {
            // The cached metadata holds only the topics asked for so far: the background loop refreshes it for every
            // topic and matches again now. Waking it alone did nothing until its next check, a whole metadata max
            // age away, and the member stayed in the group subscribed to whatever the cache happened to match.
            Volatile.Write(ref _matchNow, 1);
        }

        _wake.Set(); // a pattern is matched against fresh metadata at once
    }

    /// <summary>Leaves the group: the owned partitions are revoked (the listener awaited, offsets committed), then the member stops.</summary>
    public async ValueTask UnsubscribeAsync(CancellationToken cancellationToken)
    {
        var (classic, member) = Members();

        // Commit first, as the Java client's close does (before onLeavePrepare): a member caught in a rebalance when it
        // closes reports its partitions lost, not revoked, and would leave what it processed uncommitted. The
        // generation is still valid while the group prepares a rebalance, so the coordinator takes the commit.
        if (_options.EnableAutoCommit && (classic is not null || member is not null))
        {
            await AutoCommitAsync(cancellationToken).ConfigureAwait(false);
        }

        // The members stay reachable while they close: the revocation's commit carries their generation or epoch.
        try
        {
            if (classic is not null)
            {
                await classic.CloseAsync(leaveGroup: true, cancellationToken).ConfigureAwait(false);
            }

            if (member is not null)
            {
                await member.CloseAsync(leaveGroup: true, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            // Even when a close ends early (the caller cancelled it during the revocation): a member that began closing
            // has stopped for good, and kept here it took the next Subscribe's rejoin request and never joined again.
            lock (_lock)
            {
                _classic = null;
                _member = null;
                _pattern = null;
                _listener = null;
                _assignedCounts = null;
                _assignedGeneration = -1;
                _leaderTopics = null;
                Volatile.Write(ref _topics, []);
                _cluster.Metadata.Track(this, []);
            }

            // A member that closed without revoking (it had failed, or never completed a join) may still hold partitions.
            _fetcher.Remove(_stored.Clear());
        }
    }

    /// <summary>
    /// Called on every consume call before it looks for records: surfaces a listener failure or a member's fatal error,
    /// and restarts the max-poll-interval timer.
    /// </summary>
    public void BeforePoll()
    {
        if (_pendingFailures.Take() is { } failure)
        {
            throw failure;
        }

        var (classic, member) = Members();

        if ((classic?.Failure ?? member?.Failure) is KafkaException fatal)
        {
            throw fatal;
        }

        classic?.NotifyPolled();
        member?.NotifyPolled();
    }

    /// <summary>The application waits for records (a poll in progress) or got some.</summary>
    public void AwaitingRecords(bool awaiting)
    {
        var (classic, member) = Members();

        classic?.NotifyAwaitingRecords(awaiting);
        member?.NotifyAwaitingRecords(awaiting);
    }

    /// <summary>Stores the offset of the next record to read for a partition this consumer owns (one lock: called per record).</summary>
    public void StoreOffset(TopicPartition partition, long offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (!_stored.TryStoreOwned(partition, offset))
        {
            throw new ArgumentException("Partition " + partition + " is not assigned to this consumer: only an owned partition's offset can be stored.", nameof(partition));
        }
    }

    /// <summary>
    /// The application assigns these partitions itself (no subscription): they are the ones it may store offsets of.
    /// Called before the fetcher takes the new assignment: with automatic offset storing, what was consumed of the
    /// partitions it drops is stored now, for the next commit, as the Java client commits before it reassigns.
    /// </summary>
    public void OwnManually(IEnumerable<TopicPartitionOffset> partitions)
    {
        if (_options.EnableAutoOffsetStore)
        {
            _stored.StorePositions(_fetcher.Positions());
        }

        var owned = new List<TopicPartition>();
        foreach (var partition in partitions)
        {
            owned.Add(partition.TopicPartition);
        }

        _stored.ReplaceOwned(owned);
    }

    /// <summary>Commits the stored offsets (with automatic offset storing, the consumed positions) that moved since the last commit.</summary>
    /// <remarks>
    /// A background automatic commit still out (retrying an unavailable coordinator, up to the api timeout) is
    /// superseded, not waited for: its offsets stay stored until the coordinator takes them, so this commit sends them
    /// too, or newer ones. Behind it on the commit gate, a rebalance's revocation commit (and the whole rebalance with
    /// it) or the close's final commit waited up to a minute. Its attempt already sent stays on the coordinator's
    /// connection, ahead of this commit's, so the coordinator still takes the older offsets first.
    /// </remarks>
    public async ValueTask CommitStoredAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _storedCommits);
        try
        {
            await SupersedeBackgroundCommitAsync().ConfigureAwait(false);
            await CommitStoredInTurnAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _storedCommits);
        }
    }

    /// <summary>Commits the stored offsets once the commits before it on the gate are done.</summary>
    private async Task CommitStoredInTurnAsync(CancellationToken cancellationToken)
    {
        await _commitGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_options.EnableAutoOffsetStore)
            {
                _stored.StorePositions(_fetcher.Positions());
            }

            await CommitLockedAsync(_stored.Pending(), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _commitGate.Release();
        }
    }

    /// <summary>Commits exactly <paramref name="offsets"/>.</summary>
    public async ValueTask CommitAsync(IEnumerable<TopicPartitionCommit> offsets, CancellationToken cancellationToken)
    {
        var list = new List<OffsetToCommit>();
        foreach (var offset in offsets)
        {
            ArgumentException.ThrowIfNullOrEmpty(offset.TopicPartition.Topic, nameof(offsets));
            if (offset.Offset < 0)
            {
                throw new ArgumentException("A committed offset must not be negative (" + offset.TopicPartition + ": " + offset.Offset.ToString(CultureInfo.InvariantCulture) + ").", nameof(offsets));
            }

            list.Add(new OffsetToCommit(offset.TopicPartition, offset.Offset, Metadata: offset.Metadata));
        }

        await _commitGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await CommitLockedAsync(list, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _commitGate.Release();
        }
    }

    /// <summary>The committed offsets of <paramref name="partitions"/> (offset -1 where none).</summary>
    public async ValueTask<IReadOnlyList<TopicPartitionCommit>> CommittedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken)
    {
        var fetched = await _offsets.FetchAsync(partitions, FetchIdentity(), requireStable: true, cancellationToken).ConfigureAwait(false);
        var result = new List<TopicPartitionCommit>(partitions.Count);
        foreach (var partition in partitions)
        {
            result.Add(fetched.TryGetValue(partition, out var committed)
                ? new TopicPartitionCommit(partition, committed.Offset, committed.Metadata)
                : new TopicPartitionCommit(partition, -1));
        }

        return result;
    }

    /// <summary>Leaves the group (revoking and committing, or just stopping for a static member), commits what is left, and stops.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        // The final commits and the revocation are bounded as the Java client's close() is: a coordinator that does not
        // answer (with no DefaultApiTimeout, TimeSpan.MaxValue) held the dispose for ever. Past it the leave still goes
        // out, bounded by the request timeout (GroupLoops.LeaveToken).
        using var close = _cluster.Settings.Clock.CancelAfter(CloseTimeout);
        if (_options.EnableAutoCommit && !IsSubscribed)
        {
            // Manually assigned partitions: committed before UnsubscribeAsync forgets them and takes them from the
            // fetcher, whose positions are what is committed (a member commits in UnsubscribeAsync itself).
            await AutoCommitAsync(close.Token).ConfigureAwait(false);
        }

        try
        {
            await UnsubscribeAsync(close.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (close.IsCancellationRequested)
        {
            // A revocation listener that honoured the token: the member has left and been released all the same.
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await BackgroundLoop.StoppedAsync(_loop).ConfigureAwait(false);

        await _coordinator.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
        _wake.Dispose();

        // The commit gate is not disposed: a commit still out releases it when it fails, and the commits queued
        // behind it take it in turn and fail on the disposed coordinator. A disposed gate would refuse that release
        // and leave those waiting for ever (it never uses a wait handle, so it holds nothing to free).
    }

    // ---- the member's assignment events (on its loop, one at a time) ----

    async ValueTask IGroupAssignmentListener.OnAssignedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_leaderTopics is not null && _classic is { IsLeader: false })
            {
                // Another member leads now and watches the group's topics: this one needs its own subscription only.
                _leaderTopics = null;
                TrackTopicsLocked();
            }
        }

        if (partitions.Count > 0)
        {
            _stored.Own(partitions);
            await StartPartitionsAsync(partitions, cancellationToken).ConfigureAwait(false);
            LogChange("assigned", partitions);
        }

        await InvokeListenerAsync(ListenerCall.Assigned, partitions, cancellationToken).ConfigureAwait(false);
        if (partitions.Count > 0)
        {
            _fetcher.Release(partitions);
        }
    }

    async ValueTask IGroupAssignmentListener.OnRevokedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken)
    {
        var positions = _fetcher.Remove(partitions); // no record of them is handed out from here on
        if (_options.EnableAutoOffsetStore)
        {
            _stored.StorePositions(positions);
        }

        LogChange("revoked", partitions);
        await InvokeListenerAsync(ListenerCall.Revoked, partitions, cancellationToken).ConfigureAwait(false);
        if (_options.EnableAutoCommit)
        {
            await AutoCommitAsync(cancellationToken).ConfigureAwait(false); // Java commits consumed offsets before giving partitions up
        }

        _stored.Forget(partitions);
    }

    async ValueTask IGroupAssignmentListener.OnLostAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken)
    {
        _fetcher.Remove(partitions);
        _stored.Forget(partitions); // nothing of them can be committed: another member may own them already
        LogChange("lost", partitions);
        await InvokeListenerAsync(ListenerCall.Lost, partitions, cancellationToken).ConfigureAwait(false);
    }

    private async Task StartPartitionsAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken)
    {
        IReadOnlyDictionary<TopicPartition, CommittedOffset> committed;
        try
        {
            committed = await _offsets.FetchAsync(partitions, FetchIdentity(), requireStable: true, cancellationToken).ConfigureAwait(false);
        }
        catch (KafkaException ex)
        {
            // The partitions are this member's, but where to start is unknown: hold each with the error, in order,
            // rather than guess (a reset could skip or repeat records). A seek releases a partition.
            foreach (var partition in partitions)
            {
                _fetcher.AddFailed(partition, new ConsumeException(
                    "Fetching the committed offset of " + partition + " for group '" + GroupId + "' failed: " + ex.Message + " The partition is held: seek it to choose a start.",
                    ConsumeErrorKind.BrokerError, partition, -1, (ex as KafkaErrorException)?.Code ?? ErrorCode.None, ex));
            }

            return;
        }

        var starts = new List<TopicPartitionOffset>(partitions.Count);
        Dictionary<TopicPartition, int>? epochs = null;
        foreach (var partition in partitions)
        {
            if (committed.TryGetValue(partition, out var found) && found.Offset >= 0)
            {
                _stored.KnownCommitted(partition, found.Offset);
                starts.Add(new TopicPartitionOffset(partition, OffsetSpec.At(found.Offset)));
                if (found.LeaderEpoch >= 0)
                {
                    (epochs ??= [])[partition] = found.LeaderEpoch; // checked by the first Fetch (KIP-320)
                }
            }
            else if (_options.AutoOffsetReset == AutoOffsetReset.Error)
            {
                _fetcher.AddFailed(partition, new ConsumeException(
                    "Group '" + GroupId + "' has no committed offset for " + partition + " and auto.offset.reset is error. The partition is held: seek it to choose a start.",
                    ConsumeErrorKind.OffsetOutOfRange, partition, -1));
            }
            else
            {
                starts.Add(new TopicPartitionOffset(partition, _options.AutoOffsetReset == AutoOffsetReset.Earliest ? OffsetSpec.Earliest : OffsetSpec.Latest));
            }
        }

        _fetcher.Add(starts, awaitingStart: true, epochs); // fetched once the listener has run
    }

    private async ValueTask InvokeListenerAsync(ListenerCall call, IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken)
    {
        IConsumerRebalanceListener? listener;
        lock (_lock)
        {
            listener = _listener;
        }

        if (listener is null)
        {
            return;
        }

        try
        {
            var pending = call switch
            {
                ListenerCall.Assigned => listener.OnPartitionsAssignedAsync(partitions, cancellationToken),
                ListenerCall.Revoked => listener.OnPartitionsRevokedAsync(partitions, cancellationToken),
                _ => listener.OnPartitionsLostAsync(partitions, cancellationToken),
            };
            await pending.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Java rethrows a listener's exception from the next poll once the rebalance is done; so do we.
            var name = call switch
            {
                ListenerCall.Assigned => nameof(IConsumerRebalanceListener.OnPartitionsAssignedAsync),
                ListenerCall.Revoked => nameof(IConsumerRebalanceListener.OnPartitionsRevokedAsync),
                _ => nameof(IConsumerRebalanceListener.OnPartitionsLostAsync),
            };
            _log.CallbackFailed(GroupId, ex);
            FailNextPoll(KafkaExceptions.RebalanceListenerFailed(GroupId, name, ex));
        }
    }

    void IGroupAssignmentListener.OnAssignmentFailed(string problem, Exception? cause) =>
        FailNextPoll(KafkaExceptions.AssignmentFailed(GroupId, problem, cause));

    void IGroupAssignmentListener.OnAssignorFailed(string assignor, string method, string consequence, Exception cause) =>
        FailNextPoll(KafkaExceptions.AssignorFailed(GroupId, assignor, method, consequence, cause));

    /// <summary>
    /// A consume call throws <paramref name="error"/>, after those already waiting (Java's poll rethrows a rebalance's
    /// errors); past <see cref="PendingFailures.Capacity"/> of them it is logged instead.
    /// </summary>
    private void FailNextPoll(KafkaException error)
    {
        if (!_pendingFailures.Add(error))
        {
            _log.PendingFailureDropped(GroupId, PendingFailures.Capacity, error);
        }

        _fetcher.WakeConsumer(); // an application waiting on an idle assignment sees it now, not at the next record
    }

    // ---- commits ----

    private async Task CommitLockedAsync(List<OffsetToCommit> offsets, CancellationToken cancellationToken)
    {
        if (offsets.Count == 0)
        {
            return;
        }

        var sent = CommitIdentityNow();
        try
        {
            await _offsets.CommitAsync(offsets, CommitIdentityFor(sent), cancellationToken).ConfigureAwait(false);
        }
        catch (KafkaCommitException ex) when (ex.Code is ErrorCode.IllegalGeneration or ErrorCode.UnknownMemberId or ErrorCode.RebalanceInProgress
            && sent is { } who && Members().Classic is { } classic)
        {
            // The coordinator's answer says the member is out of its generation (or one is starting): rejoin now, as
            // Java's OffsetCommitResponseHandler does, instead of heartbeating on until a heartbeat finds out.
            classic.CommitRefused(who.GenerationIdOrMemberEpoch, who.MemberId, ex.Code);
            throw;
        }

        _stored.Committed(offsets);
    }

    /// <summary>
    /// Who commits, for one commit. A classic member's commit speaks for the generation it was made in: the member
    /// rejoins on its own loop, not between the application's calls as the Java client's does, so a commit still
    /// retrying (the coordinator moving or loading) could otherwise go out in the next generation, for partitions
    /// this member lost meanwhile and another may own. Once the generation changed it fails as rebalancing, as
    /// Java's does. A KIP-848 member's epoch is read afresh on every attempt (STALE_MEMBER_EPOCH is retried with it)
    /// until the member loses its partitions (fenced, left on the poll timeout): then it fails the same way, rather
    /// than go out with the epoch of the rejoin.
    /// </summary>
    private Func<CommitIdentity?> CommitIdentityFor(CommitIdentity? first)
    {
        var (classic, member) = Members();
        if (member is not null)
        {
            return member.CommitIdentityForOneCommit();
        }

        if (classic is null)
        {
            return CommitIdentityNow;
        }

        return () =>
        {
            var now = CommitIdentityNow();
            return now == first ? now : null;
        };
    }

    /// <summary>An automatic commit: failures are logged and the offsets stay stored for the next one.</summary>
    /// <param name="cancellationToken">Ends the commit; its offsets stay stored.</param>
    /// <param name="background">
    /// The background loop's periodic commit: it takes its turn on the gate and supersedes nothing (the others, a
    /// revocation's or the close's, supersede one of these still out).
    /// </param>
    private async Task AutoCommitAsync(CancellationToken cancellationToken, bool background = false)
    {
        try
        {
            if (background)
            {
                await CommitStoredInTurnAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await CommitStoredAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (KafkaCommitException ex) when (ex.Code == ErrorCode.RebalanceInProgress)
        {
            _log.AutoCommitDeferred(GroupId); // expected around every rebalance: the next commit after it carries them
        }
        catch (KafkaException ex)
        {
            _log.AutoCommitFailed(GroupId, ex);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>A member that fails for good wakes a consumer waiting for records, which then throws the failure.</summary>
    private void WakeConsumerOnFailure(Task<Exception> failed) =>
        failed.ContinueWith(static (_, fetcher) => ((Fetcher)fetcher!).WakeConsumer(), _fetcher, CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    /// <summary>
    /// Tells the metadata which topics the membership needs, as the Java consumer's metadata follows its subscription:
    /// every topic for a pattern (matched here, or by the broker), else the subscribed ones and, while this member
    /// leads a classic group, every member's. The topics of an earlier subscription leave its requests. Under <see cref="_lock"/>.
    /// </summary>
    private void TrackTopicsLocked()
    {
        if (_pattern is not null)
        {
            _cluster.Metadata.Track(this, null);
            return;
        }

        var topics = new HashSet<string>(Volatile.Read(ref _topics), StringComparer.Ordinal);
        if (_leaderTopics is { } group)
        {
            topics.UnionWith(group);
        }

        _cluster.Metadata.Track(this, topics);
    }

    /// <summary>The current members (at most one is set), read together.</summary>
    private (ClassicGroupMember? Classic, ConsumerGroupMember? Member) Members()
    {
        lock (_lock)
        {
            return (_classic, _member);
        }
    }

    /// <summary>
    /// Who commits, asked on every attempt: the classic generation or the KIP-848 epoch, standalone without a
    /// subscription, or null while a classic member has no generation (rejoining: the commit fails as rebalancing).
    /// </summary>
    private CommitIdentity? CommitIdentityNow()
    {
        var (classic, member) = Members();

        if (member is not null)
        {
            return member.CommitIdentity;
        }

        if (classic is not null)
        {
            return classic.Generation is { GenerationId: >= 0 } generation
                ? new CommitIdentity(generation.GenerationId, generation.MemberId, _options.GroupInstanceId)
                : null;
        }

        return CommitIdentity.Standalone;
    }

    /// <summary>The KIP-848 member's id and epoch while there is one, else standalone.</summary>
    private CommitIdentity MemberIdentityNow() => Members().Member?.CommitIdentity ?? CommitIdentity.Standalone;

    /// <summary>OffsetFetch v9+ checks a KIP-848 member's id and epoch; classic and standalone fetches carry none.</summary>
    private Func<CommitIdentity>? FetchIdentity()
    {
        lock (_lock)
        {
            return _member is null ? null : MemberIdentityNow;
        }
    }

    private void LogChange(string change, IReadOnlyCollection<TopicPartition> partitions)
    {
        if (partitions.Count == 0 || !_log.IsEnabled(LogLevel.Information))
        {
            return;
        }

        var text = new StringBuilder();
        foreach (var partition in partitions)
        {
            if (text.Length > 0)
            {
                text.Append(", ");
            }

            text.Append(partition.Topic).Append('[').Append(partition.Partition).Append(']');
        }

        var described = text.ToString();
        _log.AssignmentChanged(GroupId, change, partitions.Count, described);
    }

    private enum ListenerCall
    {
        Assigned,
        Revoked,
        Lost,
    }
}
