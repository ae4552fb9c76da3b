using System.Globalization;
using Messaging.Cluster;
using Messaging.Connection;
using Messaging.Errors;
using Messaging.Protocol.Messages;

namespace Messaging;

/// <summary>
/// Cluster administration: create and delete topics, describe topics and the cluster, look up offsets. Calls retry
/// retriable errors (a moved controller or leader, a broker restarting) with backoff until
/// <see cref="KafkaAdminOptions.DefaultApiTimeout"/>; per-item failures come back together in one
/// <see cref="KafkaAdminException"/>. Thread-safe; dispose it to close its connections.
/// </summary>
/// <remarks>
/// A broker that lacks an API (the embedded broker has no CreateTopics or DeleteTopics of its own; a
/// <c>KafkaProxy</c> in front of it with <c>AnswerTopicAdministration</c> answers them) fails the call with
/// <see cref="UnsupportedApiVersionException"/> naming the API. Topics can also be created by asking for their
/// metadata with <see cref="KafkaClientOptions.AllowAutoCreateTopics"/> set, where the broker allows it.
/// </remarks>
public sealed class KafkaAdminClient : IAsyncDisposable
{
    private readonly ClusterClient _cluster;
    private readonly KafkaAdminOptions _options;
    private readonly OffsetLookup _offsets;

    /// <summary>Creates the client; it connects on first use.</summary>
    public KafkaAdminClient(KafkaAdminOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _cluster = new ClusterClient(options);
        _offsets = new OffsetLookup(_cluster, options.RetryBackoff, oneOffMetadata: true);
    }

    /// <summary>Creates topics (or, with <paramref name="validateOnly"/>, only checks that they could be created).</summary>
    /// <exception cref="KafkaAdminException">Some topics could not be created; <see cref="KafkaAdminException.Errors"/> says which and why.</exception>
    /// <exception cref="UnsupportedApiVersionException">The cluster does not support CreateTopics.</exception>
    public async Task CreateTopicsAsync(IEnumerable<NewTopic> topics, bool validateOnly = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(topics);
        var wanted = new Dictionary<string, NewTopic>(StringComparer.Ordinal);
        foreach (var topic in topics)
        {
            wanted[topic.Name] = topic;
        }

        await OnControllerWithRetriesAsync(ApiKey.CreateTopics, wanted.Keys, async (controller, remaining, names, ct) =>
        {
            var request = new CreateTopicsRequest { TimeoutMs = remaining, ValidateOnly = validateOnly, Topics = new CreateTopicsRequest.CreatableTopic[names.Count] };
            for (var i = 0; i < names.Count; i++)
            {
                request.Topics[i] = ToCreatable(wanted[names[i]]);
            }

            var response = await controller.SendAsync<CreateTopicsRequest, CreateTopicsResponse>(request, ct).ConfigureAwait(false);
            var results = new List<(string, ErrorCode, string?)>(response.Topics.Length);
            foreach (var result in response.Topics)
            {
                results.Add((result.Name, result.ErrorCode, result.ErrorMessage));
            }

            return results;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes topics and their data.</summary>
    /// <exception cref="KafkaAdminException">Some topics could not be deleted (e.g. UNKNOWN_TOPIC_OR_PARTITION).</exception>
    /// <exception cref="UnsupportedApiVersionException">The cluster does not support DeleteTopics.</exception>
    public Task DeleteTopicsAsync(IEnumerable<string> topics, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(topics);
        return OnControllerWithRetriesAsync(ApiKey.DeleteTopics, topics, async (controller, remaining, names, ct) =>
        {
            // v6 names topics through Topics (not ignorable); v4-5 through TopicNames (ignorable, dropped at v6).
            var request = new DeleteTopicsRequest { TimeoutMs = remaining };
            if (controller.ApiVersions.VersionFor(ApiKey.DeleteTopics) >= 6)
            {
                var states = new DeleteTopicsRequest.DeleteTopicState[names.Count];
                for (var i = 0; i < names.Count; i++)
                {
                    states[i] = new DeleteTopicsRequest.DeleteTopicState { Name = names[i] };
                }

                request.Topics = states;
            }
            else
            {
                request.TopicNames = [.. names];
            }

            var response = await controller.SendAsync<DeleteTopicsRequest, DeleteTopicsResponse>(request, ct).ConfigureAwait(false);
            var results = new List<(string, ErrorCode, string?)>(response.Responses.Length);
            foreach (var result in response.Responses)
            {
                results.Add((result.Name ?? result.TopicId.ToString(), result.ErrorCode, result.ErrorMessage));
            }

            return results;
        }, cancellationToken);
    }

    /// <summary>Describes topics: partitions, leaders, replicas, in-sync replicas.</summary>
    /// <exception cref="KafkaAdminException">Some topics do not exist or could not be described.</exception>
    public async Task<IReadOnlyList<TopicInfo>> DescribeTopicsAsync(IEnumerable<string> topics, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(topics);
        var names = new List<string>(topics);
        // A look of its own: the topics do not join the admin client's standing metadata requests, which would otherwise
        // name every topic ever described (an RPC server describes each new reply topic) for the client's whole life.
        var metadata = await WithRetriesAsync(ct => _cluster.Metadata.FetchTopicsAsync(names, ct), cancellationToken).ConfigureAwait(false);
        var result = new List<TopicInfo>(names.Count);
        Dictionary<string, KafkaException>? errors = null;
        foreach (var name in names)
        {
            if (!metadata.Topics.TryGetValue(name, out var topic))
            {
                (errors ??= new(StringComparer.Ordinal))[name] = KafkaExceptions.BrokerError(ErrorCode.UnknownTopicOrPartition, ApiKey.Metadata, "the cluster", name);
            }
            else if (topic.Error != ErrorCode.None)
            {
                (errors ??= new(StringComparer.Ordinal))[name] = KafkaExceptions.BrokerError(topic.Error, ApiKey.Metadata, "the cluster", name);
            }
            else
            {
                result.Add(topic);
            }
        }

        return errors is null ? result : throw Failure("Describing topics", errors);
    }

    /// <summary>Describes the cluster: its id, brokers and controller.</summary>
    public Task<ClusterMetadata> DescribeClusterAsync(CancellationToken cancellationToken = default) =>
        WithRetriesAsync(_cluster.Metadata.RefreshAsync, cancellationToken);

    /// <summary>Looks up offsets: earliest, latest, max-timestamp, or the first at or after a timestamp, per partition.</summary>
    /// <remarks>
    /// Takes the same <see cref="OffsetSpec"/> the consumer starts from; an exact offset (<see cref="OffsetSpec.At"/>)
    /// needs no lookup and is rejected. Queries go to each partition's leader at once; retriable failures (a moved
    /// leader, a broker restarting) are retried after a metadata refresh until <see cref="KafkaAdminOptions.DefaultApiTimeout"/>.
    /// </remarks>
    /// <exception cref="ArgumentException">A query is an exact offset.</exception>
    /// <exception cref="KafkaAdminException">Some partitions could not be looked up; the others' results are lost with them, so retry the call.</exception>
    /// <exception cref="KafkaTimeoutException">A request was still unanswered at <see cref="KafkaAdminOptions.DefaultApiTimeout"/>.</exception>
    public async Task<IReadOnlyDictionary<TopicPartition, ListedOffset>> ListOffsetsAsync(
        IEnumerable<KeyValuePair<TopicPartition, OffsetSpec>> queries, IsolationLevel isolationLevel = IsolationLevel.ReadUncommitted, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queries);
        var answers = await BeforeDeadlineAsync(ApiKey.ListOffsets, _cluster.Settings.Clock.After(_options.DefaultApiTimeout),
            ct => _offsets.LookUpAsync(queries, isolationLevel, _options.DefaultApiTimeout, ct), cancellationToken).ConfigureAwait(false);
        var results = new Dictionary<TopicPartition, ListedOffset>(answers.Count);
        Dictionary<string, KafkaException>? errors = null;
        foreach (var (partition, answer) in answers)
        {
            if (answer.Error is null)
            {
                results[partition] = answer.Offset;
            }
            else
            {
                (errors ??= new(StringComparer.Ordinal))[partition.ToString()] = answer.Error;
            }
        }

        return errors is null ? results : throw Failure("Listing offsets", errors);
    }

    /// <summary>Closes every connection the client holds. Idempotent.</summary>
    public ValueTask DisposeAsync() => _cluster.DisposeAsync();

    /// <summary>Asks for metadata, retrying retriable failures after the backoff until <see cref="KafkaAdminOptions.DefaultApiTimeout"/>.</summary>
    private async Task<ClusterMetadata> WithRetriesAsync(Func<CancellationToken, Task<ClusterMetadata>> fetch, CancellationToken cancellationToken)
    {
        var clock = _cluster.Settings.Clock;
        var deadline = clock.After(_options.DefaultApiTimeout);
        while (true)
        {
            try
            {
                return await BeforeDeadlineAsync(ApiKey.Metadata, deadline, fetch, cancellationToken).ConfigureAwait(false);
            }
            catch (KafkaException ex) when (ex.IsRetriable && clock.Now < deadline)
            {
                if (!await BackoffAsync(deadline, cancellationToken).ConfigureAwait(false))
                {
                    throw;
                }
            }
        }
    }

    /// <summary>
    /// Waits <see cref="KafkaAdminOptions.RetryBackoff"/> before a retry, but not past the call's
    /// <paramref name="deadline"/>: false when the deadline came first (a backoff longer than what is left of
    /// <see cref="KafkaAdminOptions.DefaultApiTimeout"/>, TimeSpan.MaxValue for "never retry"), and the call ends with
    /// its last error instead of waiting out the backoff.
    /// </summary>
    private async Task<bool> BackoffAsync(long deadline, CancellationToken cancellationToken)
    {
        var clock = _cluster.Settings.Clock;
        var retryAt = clock.After(_options.RetryBackoff);
        await clock.DelayUntil(Math.Min(retryAt, deadline), cancellationToken).ConfigureAwait(false);
        return retryAt < deadline;
    }

    /// <summary>
    /// One attempt of a call, cut off at the call's <paramref name="deadline"/>: a broker that does not answer would
    /// otherwise hold the call for its whole request timeout past <see cref="KafkaAdminOptions.DefaultApiTimeout"/>.
    /// Cut off, it fails as a request that timed out (its late response, if any, is dropped).
    /// </summary>
    private async Task<T> BeforeDeadlineAsync<T>(ApiKey apiKey, long deadline, Func<CancellationToken, Task<T>> attempt, CancellationToken cancellationToken)
    {
        var clock = _cluster.Settings.Clock;
        var started = clock.Now;
        var left = clock.Until(deadline);
        using var cutOff = clock.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.Zero);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, cutOff.Token);
        try
        {
            return await attempt(linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cutOff.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new KafkaTimeoutException(apiKey + " got no answer within the admin call's DefaultApiTimeout ("
                + _options.DefaultApiTimeout.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture) + " ms).", apiKey, "the cluster", clock.Since(started));
        }
    }

    /// <summary>
    /// Sends a per-topic request to the controller, retrying topics whose error is retriable (NOT_CONTROLLER after a
    /// metadata refresh) until the API timeout; throws one <see cref="KafkaAdminException"/> for the topics that failed.
    /// </summary>
    private async Task OnControllerWithRetriesAsync(
        ApiKey apiKey,
        IEnumerable<string> topics,
        Func<BrokerConnection, int, List<string>, CancellationToken, Task<List<(string Name, ErrorCode Error, string? Message)>>> send,
        CancellationToken cancellationToken)
    {
        // Each name once, in the order given: Kafka refuses a request naming a topic twice (INVALID_REQUEST for that
        // topic), and one outcome per topic is all the caller can get; the Java client also sends each name once.
        var pending = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var topic in topics)
        {
            if (seen.Add(topic))
            {
                pending.Add(topic);
            }
        }

        var errors = new Dictionary<string, KafkaException>(StringComparer.Ordinal);
        var clock = _cluster.Settings.Clock;
        var deadline = clock.After(_options.DefaultApiTimeout);
        while (pending.Count > 0)
        {
            var remainingMs = (int)Math.Clamp(clock.Until(deadline).TotalMilliseconds, 1, int.MaxValue);
            var retry = new List<string>();
            try
            {
                var (controller, answers) = await BeforeDeadlineAsync(apiKey, deadline, async ct =>
                {
                    var controller = await _cluster.GetControllerAsync(ct).ConfigureAwait(false);
                    return (controller, await send(controller, remainingMs, pending, ct).ConfigureAwait(false));
                }, cancellationToken).ConfigureAwait(false);
                var unanswered = new HashSet<string>(pending, StringComparer.Ordinal);
                foreach (var (name, error, message) in answers)
                {
                    unanswered.Remove(name);
                    if (error == ErrorCode.None)
                    {
                        errors.Remove(name);
                        continue;
                    }

                    errors[name] = KafkaExceptions.BrokerError(error, apiKey, controller.Name, message);
                    // UNKNOWN_TOPIC_OR_PARTITION is retriable for requests routed by our metadata, which may be stale;
                    // the controller decides which topics exist, so from it the answer is final (as in the Java client).
                    // Retried, deleting a missing topic would fail only after DefaultApiTimeout, after hundreds of requests.
                    if (ErrorCodes.IsRetriable(error) && error is not (ErrorCode.UnknownTopicOrPartition or ErrorCode.UnknownTopicId))
                    {
                        retry.Add(name);
                        if (error == ErrorCode.NotController)
                        {
                            _cluster.Metadata.RequestRefresh();
                        }
                    }
                }

                // A topic the response leaves out has no outcome: it failed, as in the Java client (not sent again:
                // whether the controller acted on it is unknown). Taking silence for success would report a topic
                // created or deleted that may not be.
                foreach (var name in unanswered)
                {
                    errors[name] = new KafkaProtocolException(apiKey + " to " + controller.Name + ": the response has no result for topic '" + name
                        + "'; whether the controller acted on it is unknown.");
                }
            }
            catch (KafkaException ex) when (ex.IsRetriable)
            {
                foreach (var name in pending)
                {
                    errors[name] = ex;
                }

                retry = pending;
                _cluster.Metadata.RequestRefresh();
            }

            pending = retry;
            if (pending.Count == 0 || clock.Now > deadline)
            {
                break;
            }

            if (!await BackoffAsync(deadline, cancellationToken).ConfigureAwait(false))
            {
                break;
            }
        }

        if (errors.Count > 0)
        {
            throw Failure(apiKey.ToString(), errors);
        }
    }

    private static KafkaAdminException Failure(string what, Dictionary<string, KafkaException> errors)
    {
        var message = what + " failed for " + errors.Count.ToString(CultureInfo.InvariantCulture) + " item(s): ";
        var first = true;
        foreach (var (item, error) in errors)
        {
            message += (first ? "" : "; ") + item + ": " + error.Message;
            first = false;
        }

        return new KafkaAdminException(message, errors);
    }

    private static CreateTopicsRequest.CreatableTopic ToCreatable(NewTopic topic)
    {
        var creatable = new CreateTopicsRequest.CreatableTopic { Name = topic.Name, NumPartitions = topic.Partitions, ReplicationFactor = topic.ReplicationFactor };
        if (topic.Configs is not null)
        {
            var configs = new List<CreateTopicsRequest.CreatableTopicConfig>(topic.Configs.Count);
            foreach (var (name, value) in topic.Configs)
            {
                configs.Add(new CreateTopicsRequest.CreatableTopicConfig { Name = name, Value = value });
            }

            creatable.Configs = [.. configs];
        }

        if (topic.ReplicaAssignments is not null)
        {
            var assignments = new List<CreateTopicsRequest.CreatableReplicaAssignment>(topic.ReplicaAssignments.Count);
            foreach (var (partition, brokers) in topic.ReplicaAssignments)
            {
                assignments.Add(new CreateTopicsRequest.CreatableReplicaAssignment { PartitionIndex = partition, BrokerIds = brokers });
            }

            creatable.Assignments = [.. assignments];
        }

        return creatable;
    }

}
