using System.Globalization;
using System.Text.RegularExpressions;
using Messaging.Errors;
using Messaging.Groups;

namespace Messaging.Consumer;

/// <summary>
/// The background loop of a <see cref="ConsumerGroup"/>: automatic commits (sent alongside, at most one out at a time), and the metadata watch — a pattern
/// subscription matched again against fresh metadata, and (the classic leader) a rejoin when a subscribed topic's
/// partition count changed since the last assignment.
/// </summary>
internal sealed partial class ConsumerGroup
{
    private async Task RunAsync(CancellationToken token)
    {
        // On the clock's ticks, which saturate: an interval of TimeSpan.MaxValue ("never") must not overflow a date.
        var clock = _cluster.Settings.Clock;
        var nextCommit = clock.After(_options.AutoCommitInterval);
        var nextMetadataCheck = clock.Now;
        var autoCommit = Task.CompletedTask;
        try
        {
            while (!token.IsCancellationRequested)
            {
                var now = clock.Now;
                if (Interlocked.Exchange(ref _matchNow, 0) != 0 || now >= nextMetadataCheck)
                {
                    nextMetadataCheck = clock.After(now, _options.MetadataMaxAge);
                    await CheckMetadataAsync(token).ConfigureAwait(false);
                }

                if (_options.EnableAutoCommit && now >= nextCommit)
                {
                    nextCommit = clock.After(now, _options.AutoCommitInterval);

                    // Sent without holding up the metadata watch, as the Java client's are: one still retrying an
                    // unavailable coordinator (up to the api timeout) stopped pattern matching and the leader's
                    // partition-count checks meanwhile. One at a time: while one is out, what was stored since goes
                    // with the next interval's.
                    if (autoCommit.IsCompleted)
                    {
                        await autoCommit.ConfigureAwait(false); // a failure it did not log ends the loop, as before
                        autoCommit = BackgroundAutoCommitAsync(token);
                    }
                }

                var until = _options.EnableAutoCommit && nextCommit < nextMetadataCheck ? nextCommit : nextMetadataCheck;
                if (until > clock.Now)
                {
                    await _wake.WaitAsync(until, token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        finally
        {
            // The loop has stopped once its last automatic commit has (the stop cancels one still out).
            await autoCommit.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The periodic automatic commit, which a commit of every stored offset (a revocation's, the close's, the
    /// application's) supersedes: <see cref="SupersedeBackgroundCommitAsync"/> cancels it. None starts while one of
    /// those is waiting or running: it would only send the same offsets again, after them.
    /// </summary>
    private async Task BackgroundAutoCommitAsync(CancellationToken token)
    {
        var commit = CancellationTokenSource.CreateLinkedTokenSource(token);
        bool superseded;
        lock (_lock)
        {
            // Under the lock the superseding commit reads it in, after counting itself: it finds this commit, or this
            // commit finds it counted.
            _backgroundCommit = commit;
            superseded = Volatile.Read(ref _storedCommits) != 0;
        }

        try
        {
            if (!superseded)
            {
                await AutoCommitAsync(commit.Token, background: true).ConfigureAwait(false);
            }
        }
        finally
        {
            bool mine;
            lock (_lock)
            {
                mine = ReferenceEquals(_backgroundCommit, commit);
                if (mine)
                {
                    _backgroundCommit = null;
                }
            }

            if (mine)
            {
                commit.Dispose(); // else the commit that superseded it took it, and disposes it once cancelled
            }
        }
    }

    /// <summary>Cancels the background automatic commit out now, if any; its offsets stay stored for the caller's commit.</summary>
    private async Task SupersedeBackgroundCommitAsync()
    {
        CancellationTokenSource? commit;
        lock (_lock)
        {
            commit = _backgroundCommit;
            _backgroundCommit = null;
        }

        if (commit is null)
        {
            return;
        }

        _log.AutoCommitSuperseded(GroupId);
        await commit.CancelAsync().ConfigureAwait(false);
        commit.Dispose();
    }

    /// <summary>
    /// Re-matches a pattern subscription against fresh metadata (a change rejoins, so new topics are picked up), and —
    /// the classic leader only, as the Java client's assignment snapshot — rejoins when a subscribed topic's partition
    /// count changed since the last assignment (a topic created or deleted since included).
    /// </summary>
    private async Task CheckMetadataAsync(CancellationToken token)
    {
        Regex? pattern;
        ClassicGroupMember? classic;
        lock (_lock)
        {
            pattern = _pattern;
            classic = _classic;
        }

        if (pattern is null && (classic is null || !classic.IsLeader))
        {
            return;
        }

        ClusterMetadata metadata;
        try
        {
            metadata = await _cluster.Metadata.RefreshAsync(token).ConfigureAwait(false);
        }
        catch (KafkaException)
        {
            return; // retried at the next check; the metadata refresher logs its own failures
        }

        string? reason = null;
        var timedOut = new List<string>();
        var matchTimeout = TimeSpan.Zero;
        ClassicGroupMember? rejoining;
        lock (_lock)
        {
            rejoining = _classic;
            if (_pattern is { } current)
            {
                matchTimeout = current.MatchTimeout;
                var matched = Match(current, metadata, Volatile.Read(ref _topics), timedOut);
                if (!SameTopics(matched, Volatile.Read(ref _topics)))
                {
                    Volatile.Write(ref _topics, matched);
                    if (_member is null)
                    {
                        reason = "the subscription pattern matches other topics now"; // a KIP-848 broker matches the pattern itself
                    }
                }
            }

            if (reason is null && _classic is { IsLeader: true } leader && _assignedCounts is { } counts
                && _assignedGeneration == leader.Generation.GenerationId)
            {
                // Every topic of the group's subscription, with 0 for one that did not exist: a topic created or
                // deleted since changes the assignment as much as a partition count does (Java's metadata snapshot).
                // Only counts read for this generation: until the leader has read them for a new one (its first
                // assignment after leading again, or after the group's topics changed, when the topics it watches
                // change too), the ones it has are of another member set and would tell of changes that are none.
                // Against the metadata now, read under the lock the counts were stored under: at least as new as what
                // they were read from (refreshes are one at a time), where the refresh above may have started before.
                var latest = _cluster.Metadata.Current;
                foreach (var (topic, count) in counts)
                {
                    var now = PartitionCount(latest, topic);
                    if (now != count)
                    {
                        reason = "topic '" + topic + "' has " + now.ToString(CultureInfo.InvariantCulture) + " partitions now, " + count.ToString(CultureInfo.InvariantCulture) + " at the last assignment";
                        break;
                    }
                }
            }
        }

        if (reason is not null)
        {
            // The member read under the lock above, not the one read before the refresh: an unsubscribe and a new
            // subscription during the refresh replace the member, and the rejoin is the new one's.
            rejoining?.RequestRejoin(reason);
        }

        if (timedOut.Count > 0)
        {
            // The application's pattern, not the cluster: the loop goes on (commits, later checks), and the application
            // hears of it at its next consume call, as of its listener's and assignor's failures.
            var topics = string.Join(", ", timedOut);
            var timeoutMs = matchTimeout.TotalMilliseconds;
            _log.PatternMatchTimedOut(GroupId, timeoutMs, timedOut.Count, topics);
            FailNextPoll(KafkaExceptions.PatternMatchTimedOut(GroupId, topics, timeoutMs));
        }
    }

    /// <summary>The leader's partition counts for the assignor, remembered to notice later changes.</summary>
    private async ValueTask<IReadOnlyDictionary<string, int>> PartitionCountsAsync(IReadOnlyCollection<string> topics, CancellationToken cancellationToken)
    {
        int generation;
        lock (_lock)
        {
            generation = _classic?.Generation.GenerationId ?? -1; // the generation being assigned (the JoinGroup's)
            if (_classic is not null)
            {
                // The leader watches every member's topics (the metadata check) until another member leads.
                _leaderTopics = topics;
                TrackTopicsLocked();
            }
        }

        // Fresh metadata for the assignment, as librdkafka's leader fetches it before assigning: partitions added since
        // the last refresh are assigned now rather than after the next rebalance.
        try
        {
            await _cluster.Metadata.RefreshAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (KafkaException)
        {
            // The cached metadata will do; EnsureTrackedAsync below still waits for topics it has never seen.
        }

        var metadata = await _cluster.Metadata.EnsureTrackedAsync(topics, cancellationToken).ConfigureAwait(false);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var snapshot = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var topic in topics)
        {
            var count = PartitionCount(metadata, topic);
            snapshot[topic] = count;
            if (count > 0)
            {
                counts[topic] = count;
            }
        }

        lock (_lock)
        {
            _assignedCounts = snapshot;
            _assignedGeneration = generation;
        }

        return counts;
    }

    /// <summary>The partitions <paramref name="metadata"/> gives <paramref name="topic"/>: 0 for a topic it does not know.</summary>
    private static int PartitionCount(ClusterMetadata metadata, string topic) =>
        metadata.Topics.TryGetValue(topic, out var info) ? info.Partitions.Count : 0;

    /// <summary>
    /// The topics of <paramref name="metadata"/> whose whole name <paramref name="pattern"/> matches. A name whose match
    /// times out (the pattern's <see cref="Regex.MatchTimeout"/>) keeps its place — in the result if
    /// <paramref name="current"/> has it, out of it if not — and is added to <paramref name="timedOut"/>: a match that
    /// timed out under load must not take a topic from the member.
    /// </summary>
    private static string[] Match(Regex pattern, ClusterMetadata metadata, IReadOnlyCollection<string> current, List<string> timedOut)
    {
        var matched = new List<string>();
        foreach (var (name, info) in metadata.Topics)
        {
            if (info.IsInternal || info.Error != ErrorCode.None)
            {
                continue;
            }

            bool matches;
            try
            {
                matches = pattern.IsMatch(name);
            }
            catch (RegexMatchTimeoutException)
            {
                timedOut.Add(name);
                matches = current.Contains(name);
            }

            if (matches)
            {
                matched.Add(name);
            }
        }

        matched.Sort(StringComparer.Ordinal);
        return [.. matched];
    }

    /// <summary>
    /// The pattern matching whole topic names only, as the Java client's classic subscription
    /// (<c>Pattern.matcher(topic).matches()</c>) and a KIP-848 coordinator match it; <see cref="Regex.IsMatch(string)"/>
    /// alone takes a topic whose name merely contains a match.
    /// </summary>
    private static Regex WholeName(Regex pattern)
    {
        // A pattern ending in a comment (IgnorePatternWhitespace) would comment out the closing anchor: end the line first.
        var end = (pattern.Options & RegexOptions.IgnorePatternWhitespace) != 0 ? "\n" + @")\z" : @")\z";
        return new Regex(@"\A(?:" + pattern + end, pattern.Options, pattern.MatchTimeout);
    }

    private static bool SameTopics(string[] matched, IReadOnlyCollection<string> current)
    {
        if (matched.Length != current.Count)
        {
            return false;
        }

        var set = new HashSet<string>(current, StringComparer.Ordinal);
        foreach (var topic in matched)
        {
            if (!set.Contains(topic))
            {
                return false;
            }
        }

        return true;
    }
}
