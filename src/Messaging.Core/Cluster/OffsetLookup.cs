using Messaging.Connection;
using Messaging.Errors;
using Messaging.Protocol.Messages;
using Messaging.Threading;

namespace Messaging.Cluster;

/// <summary>
/// The one ListOffsets path of the client: turns (partition → <see cref="OffsetSpec"/>) queries into offsets. Groups
/// the queries by partition leader from the cluster metadata, sends one ListOffsets per leader (all leaders at once)
/// at the version negotiated with that broker, and retries partitions whose answer is retriable — a moved leader,
/// a fenced epoch, a broker restarting — after a backoff and a metadata refresh, until the caller's retry window
/// closes. Each partition ends with its offset or a typed error (<see cref="OffsetLookupResult"/>); the caller
/// decides what an error means to it (the admin client fails the call, the consumer holds or retries the partition).
/// </summary>
/// <remarks>Thread-safe: it holds no state of its own beyond the cluster client it was given (which it does not own).</remarks>
internal sealed class OffsetLookup
{
    private readonly ClusterClient _cluster;
    private readonly TimeSpan _retryBackoff;
    private readonly TimeProvider _time;
    private readonly bool _oneOffMetadata;

    /// <param name="cluster">Where requests go (not owned).</param>
    /// <param name="retryBackoff">The pause between retry rounds.</param>
    /// <param name="time">The clock the pauses count on; default: the cluster client's.</param>
    /// <param name="oneOffMetadata">
    /// Look the topics' leaders up in Metadata requests of their own (the admin client) rather than track the topics in
    /// the client's standing metadata for the lookup (the consumer, which follows its topics anyway).
    /// </param>
    public OffsetLookup(ClusterClient cluster, TimeSpan retryBackoff, TimeProvider? time = null, bool oneOffMetadata = false)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        _cluster = cluster;
        _retryBackoff = retryBackoff;
        _time = time ?? cluster.Settings.Clock.Provider;
        _oneOffMetadata = oneOffMetadata;
    }

    /// <summary>
    /// Looks up every query. Retriable failures are retried while a backoff still fits in <paramref name="retryFor"/>
    /// (<see cref="TimeSpan.Zero"/>: one round, for callers that run their own retry loop); what is still failing
    /// then comes back with its last error and <see cref="OffsetLookupResult.IsRetriable"/> set. A partition of a
    /// topic the cluster does not have is not retried here (the answer is final for this call) but is marked
    /// retriable, since the topic may yet be created.
    /// </summary>
    /// <exception cref="ArgumentException">A query is an exact offset, which needs no lookup.</exception>
    public async Task<Dictionary<TopicPartition, OffsetLookupResult>> LookUpAsync(
        IEnumerable<KeyValuePair<TopicPartition, OffsetSpec>> queries, IsolationLevel isolationLevel, TimeSpan retryFor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(queries);
        var pending = new Dictionary<TopicPartition, OffsetSpec>();
        var topics = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (partition, spec) in queries)
        {
            if (spec.IsOffset)
            {
                throw new ArgumentException("The query for " + partition + " is an exact offset (" + spec + "), which needs no lookup.", nameof(queries));
            }

            pending[partition] = spec;
            topics.Add(partition.Topic);
        }

        var results = new Dictionary<TopicPartition, OffsetLookupResult>(pending.Count);
        if (pending.Count == 0)
        {
            return results;
        }

        // The topics stay in the standing metadata's refreshes while the lookup needs them (Java's transient topics):
        // the consumer's own, which it tracks anyway, or any other, which leave again afterwards.
        var lease = _oneOffMetadata ? null : new object();
        if (lease is not null)
        {
            _cluster.Metadata.Track(lease, topics);
        }

        try
        {
            long started = _time.GetTimestamp();
            var metadata = await EnsureTopicsAsync(topics, started, retryFor, cancellationToken).ConfigureAwait(false);
            while (true)
            {
                var retry = new Dictionary<TopicPartition, OffsetSpec>();
                var byLeader = GroupByLeader(metadata, pending, retry, results);
                if (byLeader.Count > 0)
                {
                    // Every leader at once: a slow or unreachable broker delays only its own partitions' answers.
                    var sends = new Task<LeaderAnswer>[byLeader.Count];
                    int i = 0;
                    foreach (var (leader, partitions) in byLeader)
                    {
                        sends[i++] = SendAsync(leader, partitions, isolationLevel, cancellationToken);
                    }

                    foreach (var answer in await Task.WhenAll(sends).ConfigureAwait(false))
                    {
                        Interpret(answer, retry, results);
                    }
                }

                if (retry.Count == 0)
                {
                    return results;
                }

                if (Clock.Sum(_time.GetElapsedTime(started), _retryBackoff) > retryFor) // a backoff of TimeSpan.MaxValue: never
                {
                    // Out of time: the partitions still failing keep their last (retriable) error. Each failed for a moved
                    // or missing leader or an unreachable broker: a refresh requested now is ready for the caller's next attempt.
                    _cluster.Metadata.RequestRefresh();
                    return results;
                }

                await Task.Delay(Clock.TimerDelay(_retryBackoff), _time, cancellationToken).ConfigureAwait(false);
                metadata = await RefreshAsync(metadata, topics, cancellationToken).ConfigureAwait(false);
                pending = retry;
            }
        }
        finally
        {
            if (lease is not null)
            {
                _cluster.Metadata.Track(lease, []);
            }
        }
    }

    /// <summary>
    /// The snapshot that has <paramref name="topics"/>, retrying a fetch that fails retriably (every broker unreachable:
    /// one restarting) while a backoff still fits in <paramref name="retryFor"/>, like every other retriable failure of
    /// a lookup; after that (at once for <see cref="TimeSpan.Zero"/>) the failure is the caller's.
    /// </summary>
    private async Task<ClusterMetadata> EnsureTopicsAsync(HashSet<string> topics, long started, TimeSpan retryFor, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                return _oneOffMetadata
                    ? await _cluster.Metadata.FetchTopicsAsync(topics, cancellationToken).ConfigureAwait(false)
                    : await _cluster.Metadata.EnsureTrackedAsync(topics, cancellationToken).ConfigureAwait(false);
            }
            catch (KafkaException ex) when (ex.IsRetriable && Clock.Sum(_time.GetElapsedTime(started), _retryBackoff) <= retryFor)
            {
                await Task.Delay(Clock.TimerDelay(_retryBackoff), _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>A fresh snapshot, or <paramref name="current"/> when the refresh failed retriably (the next round retries against it).</summary>
    private async Task<ClusterMetadata> RefreshAsync(ClusterMetadata current, HashSet<string> topics, CancellationToken cancellationToken)
    {
        try
        {
            return _oneOffMetadata
                ? await _cluster.Metadata.FetchTopicsAsync(topics, cancellationToken).ConfigureAwait(false)
                : await _cluster.Metadata.RefreshAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (KafkaException ex) when (ex.IsRetriable)
        {
            return current;
        }
    }

    /// <summary>
    /// Groups queries by their partition's leader. A partition of a topic the cluster does not have, or whose topic has
    /// an error no retry cures, fails at once; one whose leader is unknown or unreachable right now goes to <paramref name="retry"/>.
    /// </summary>
    private static Dictionary<int, List<Query>> GroupByLeader(
        ClusterMetadata metadata, Dictionary<TopicPartition, OffsetSpec> queries, Dictionary<TopicPartition, OffsetSpec> retry, Dictionary<TopicPartition, OffsetLookupResult> results)
    {
        var byLeader = new Dictionary<int, List<Query>>();
        foreach (var (partition, spec) in queries)
        {
            if (!metadata.Topics.TryGetValue(partition.Topic, out var topic) || topic.Error == ErrorCode.UnknownTopicOrPartition
                || (topic.Error == ErrorCode.None && (uint)partition.Partition >= (uint)topic.Partitions.Count))
            {
                results[partition] = OffsetLookupResult.Failed(
                    KafkaExceptions.BrokerError(ErrorCode.UnknownTopicOrPartition, ApiKey.Metadata, "the cluster", partition.ToString()), retriable: true);
            }
            else if (topic.Error == ErrorCode.None && metadata.HasRoutableLeader(topic.Partitions[partition.Partition]))
            {
                var info = topic.Partitions[partition.Partition];
                if (!byLeader.TryGetValue(info.Leader, out var group))
                {
                    byLeader[info.Leader] = group = [];
                }

                group.Add(new Query(partition, spec, info.LeaderEpoch));
            }
            else if (topic.Error != ErrorCode.None && !ClusterClient.MeansStaleMetadata(topic.Error) && !ErrorCodes.IsRetriable(topic.Error))
            {
                // TOPIC_AUTHORIZATION_FAILED, INVALID_TOPIC_EXCEPTION, ...: no refresh cures it, so it fails now with its
                // own code instead of being retried until the window ends and then reported as retriable.
                results[partition] = OffsetLookupResult.Failed(
                    KafkaExceptions.BrokerError(topic.Error, ApiKey.Metadata, "the cluster", partition.ToString()), retriable: false);
            }
            else
            {
                retry[partition] = spec;
                var error = topic.Error == ErrorCode.None ? ErrorCode.LeaderNotAvailable : topic.Error;
                results[partition] = OffsetLookupResult.Failed(KafkaExceptions.BrokerError(error, ApiKey.Metadata, "the cluster", partition.ToString()), retriable: true);
            }
        }

        return byLeader;
    }

    /// <summary>Sends one leader's queries. Connection and protocol failures come back in the answer, not as exceptions (cancellation and disposal do throw).</summary>
    private async Task<LeaderAnswer> SendAsync(int leader, List<Query> queries, IsolationLevel isolationLevel, CancellationToken cancellationToken)
    {
        BrokerConnection? connection = null;
        try
        {
            connection = await _cluster.Connections.GetAsync(leader, cancellationToken).ConfigureAwait(false);
            var unsupported = MaxTimestampUnsupported(connection, queries);
            var request = ToRequest(queries, unsupported, isolationLevel);
            var response = request.Topics.Length == 0
                ? new ListOffsetsResponse()
                : await connection.SendAsync<ListOffsetsRequest, ListOffsetsResponse>(request, cancellationToken).ConfigureAwait(false);
            return new LeaderAnswer(connection.Name, queries, response, null, unsupported);
        }
        catch (KafkaException ex) when (!cancellationToken.IsCancellationRequested)
        {
            return new LeaderAnswer(connection?.Name ?? "broker " + leader, queries, null, ex, Unsupported: null);
        }
    }

    /// <summary>Max-timestamp lookups need ListOffsets v7: on an older broker they fail alone instead of failing the request.</summary>
    private static HashSet<TopicPartition>? MaxTimestampUnsupported(BrokerConnection connection, List<Query> queries)
    {
        HashSet<TopicPartition>? unsupported = null;
        foreach (var query in queries)
        {
            if (query.Spec.IsMaxTimestamp && connection.ApiVersions.VersionFor(ApiKey.ListOffsets) < 7)
            {
                (unsupported ??= []).Add(query.Partition);
            }
        }

        return unsupported;
    }

    private ListOffsetsRequest ToRequest(List<Query> queries, HashSet<TopicPartition>? skip, IsolationLevel isolationLevel)
    {
        var topics = new Dictionary<string, List<ListOffsetsRequest.ListOffsetsPartition>>(StringComparer.Ordinal);
        foreach (var query in queries)
        {
            if (skip is not null && skip.Contains(query.Partition))
            {
                continue;
            }

            if (!topics.TryGetValue(query.Partition.Topic, out var list))
            {
                topics[query.Partition.Topic] = list = [];
            }

            list.Add(new ListOffsetsRequest.ListOffsetsPartition
            {
                PartitionIndex = query.Partition.Partition,
                CurrentLeaderEpoch = query.LeaderEpoch, // the leader fences an epoch newer or older than its own: stale metadata, refreshed and retried
                Timestamp = query.Spec.ListOffsetsTimestamp,
            });
        }

        var request = new ListOffsetsRequest
        {
            ReplicaId = -1,
            IsolationLevel = (sbyte)isolationLevel,
            TimeoutMs = (int)Math.Min(_cluster.Settings.RequestTimeout.TotalMilliseconds, int.MaxValue),
            Topics = new ListOffsetsRequest.ListOffsetsTopic[topics.Count],
        };
        int i = 0;
        foreach (var (name, list) in topics)
        {
            request.Topics[i++] = new ListOffsetsRequest.ListOffsetsTopic { Name = name, Partitions = [.. list] };
        }

        return request;
    }

    /// <summary>Files each query of one leader's answer as found, to retry, or failed.</summary>
    private static void Interpret(LeaderAnswer answer, Dictionary<TopicPartition, OffsetSpec> retry, Dictionary<TopicPartition, OffsetLookupResult> results)
    {
        if (answer.Failure is not null)
        {
            foreach (var query in answer.Queries)
            {
                results[query.Partition] = OffsetLookupResult.Failed(answer.Failure, answer.Failure.IsRetriable);
                if (answer.Failure.IsRetriable)
                {
                    retry[query.Partition] = query.Spec;
                }
            }

            return;
        }

        var answers = new Dictionary<TopicPartition, ListOffsetsResponse.ListOffsetsPartitionResponse>();
        foreach (var topic in answer.Response!.Topics)
        {
            foreach (var partition in topic.Partitions)
            {
                answers[new TopicPartition(topic.Name, partition.PartitionIndex)] = partition;
            }
        }

        foreach (var query in answer.Queries)
        {
            if (answer.Unsupported is not null && answer.Unsupported.Contains(query.Partition))
            {
                results[query.Partition] = OffsetLookupResult.Failed(KafkaExceptions.BrokerError(
                    ErrorCode.UnsupportedVersion, ApiKey.ListOffsets, answer.Broker, query.Partition + ": max-timestamp lookups need ListOffsets v7 or later"), retriable: false);
            }
            else if (!answers.TryGetValue(query.Partition, out var found))
            {
                // The leader left the partition out of its answer: ask again rather than guess.
                retry[query.Partition] = query.Spec;
                results[query.Partition] = OffsetLookupResult.Failed(KafkaExceptions.BrokerError(
                    ErrorCode.UnknownServerError, ApiKey.ListOffsets, answer.Broker, query.Partition + ": the answer left this partition out"), retriable: true);
            }
            else if (found.ErrorCode == ErrorCode.None)
            {
                results[query.Partition] = OffsetLookupResult.Found(new ListedOffset(found.Offset, found.Timestamp, found.LeaderEpoch));
            }
            else
            {
                // Stale metadata (NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, ...) is retried after the refresh every
                // retry round starts with.
                bool retriable = ClusterClient.MeansStaleMetadata(found.ErrorCode) || ErrorCodes.IsRetriable(found.ErrorCode);
                results[query.Partition] = OffsetLookupResult.Failed(
                    KafkaExceptions.BrokerError(found.ErrorCode, ApiKey.ListOffsets, answer.Broker, query.Partition.ToString()), retriable);
                if (retriable)
                {
                    retry[query.Partition] = query.Spec;
                }
            }
        }
    }

    /// <summary>One partition to look up, with the leader epoch the metadata gave its leader.</summary>
    private readonly record struct Query(TopicPartition Partition, OffsetSpec Spec, int LeaderEpoch);

    /// <summary>What one leader answered: a response (some partitions may be skipped as unsupported), or the failure of the whole request.</summary>
    private sealed record LeaderAnswer(string Broker, List<Query> Queries, ListOffsetsResponse? Response, KafkaException? Failure, HashSet<TopicPartition>? Unsupported);
}
