using System.Collections.Concurrent;

namespace Messaging.Rpc;

/// <summary>
/// The topics a client or server produces to and knows exist. A topic not yet seen is first looked up (concurrent
/// first uses share one lookup), so that a missing topic fails at once — a call with <see cref="RpcStatus.Unavailable"/>,
/// a reply as a reply failure — rather than waiting for the producer's metadata wait, during which the producer's
/// waiting path holds up every later record that has to wait. Only topics found to exist are remembered (a missing
/// one may be created later). A topic is <em>warm</em> once the producer has delivered a record to it: it then has
/// the topic's metadata, and producing to it never blocks a thread for it.
/// </summary>
/// <remarks>
/// Bounded: an RPC server's reply topics come and go with its clients (one per client instance with per-instance reply
/// topics), so past <see cref="DefaultCapacity"/> topics the ones not used since the previous sweep are forgotten
/// first, down to three quarters of it; a forgotten topic is simply looked up again at its next use.
/// </remarks>
internal sealed class KnownTopics
{
    /// <summary>How many topics are remembered at most (before a sweep brings them down to three quarters).</summary>
    public const int DefaultCapacity = 1024;

    private readonly ConcurrentDictionary<string, Entry> _known = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task> _lookups = new(StringComparer.Ordinal);
    private readonly Lock _sweep = new();
    private readonly Func<string, Task> _describe;
    private readonly TimeProvider _time;
    private readonly bool _server;
    private readonly int _capacity;

    /// <param name="admin">Looks the topics up.</param>
    /// <param name="time">Where the elapsed times in errors and the lookup wait count.</param>
    /// <param name="server">The topics are an RPC server's reply topics (its errors say so), not a client's request topics.</param>
    public KnownTopics(KafkaAdminClient admin, TimeProvider time, bool server)
        : this(topic => admin.DescribeTopicsAsync([topic]), time, server)
    {
    }

    /// <param name="describe">Looks a topic up: completes when it exists, throws (<see cref="KafkaAdminException"/>) when it does not.</param>
    /// <param name="time">Where the elapsed times in errors and the lookup wait count.</param>
    /// <param name="server">The topics are an RPC server's reply topics, not a client's request topics.</param>
    /// <param name="capacity">How many topics are remembered at most (at least 1).</param>
    internal KnownTopics(Func<string, Task> describe, TimeProvider time, bool server = false, int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _describe = describe;
        _time = time;
        _server = server;
        _capacity = capacity;
    }

    /// <summary>How many topics are remembered now.</summary>
    public int Count => _known.Count;

    /// <summary>
    /// Completes when <paramref name="topic"/> exists; throws <see cref="RpcException"/> when it does not, or cannot be
    /// looked up within <paramref name="wait"/>, or at once (<see cref="RpcStatus.InvalidArgument"/>) when Kafka takes
    /// no topic of that name. Only a topic not known yet is checked: a known one costs one dictionary read.
    /// </summary>
    public ValueTask EnsureAsync(string topic, string method, long startTimestamp, TimeSpan wait, CancellationToken cancellationToken)
    {
        if (TryUse(topic, out _))
        {
            return ValueTask.CompletedTask;
        }

        // The broker would refuse such a name every time (INVALID_TOPIC_EXCEPTION), and the refusal would read as a
        // failed lookup (Unavailable), a status callers take for a passing fault and retry.
        return Refusal(topic, method, startTimestamp) is { } refused
            ? ValueTask.FromException(refused)
            : LookUpAsync(topic, method, startTimestamp, wait, cancellationToken);
    }

    /// <summary>The error for a topic name Kafka never takes (<see cref="TopicNames.Problem"/> says why), or null for a legal one.</summary>
    public RpcException? Refusal(string topic, string method, long startTimestamp) =>
        TopicNames.Problem(topic) is { } problem ? RpcErrors.IllegalTopic(method, topic, problem, _time.GetElapsedTime(startTimestamp), _server) : null;

    public bool IsWarm(string topic) => TryUse(topic, out var entry) && entry.Warm;

    public void MarkWarm(string topic)
    {
        if (TryUse(topic, out var entry))
        {
            entry.Warm = true;
        }
        else
        {
            Remember(topic, warm: true);
        }
    }

    public void Clear()
    {
        _known.Clear();
        _lookups.Clear();
    }

    private async ValueTask LookUpAsync(string topic, string method, long startTimestamp, TimeSpan wait, CancellationToken cancellationToken)
    {
        var lookup = _lookups.TryGetValue(topic, out var running) ? running : StartLookup(topic);
        try
        {
            // At most one timer step: a lookup is bounded by the admin client's timeout, far below it.
            await lookup.WaitAsync(FarDeadline.StepOf(wait), _time, cancellationToken).ConfigureAwait(false);
        }
        catch (KafkaAdminException ex) when (ex.Errors.TryGetValue(topic, out var error) && error is KafkaErrorException { Code: ErrorCode.UnknownTopicOrPartition })
        {
            throw RpcErrors.TopicMissing(method, topic, _time.GetElapsedTime(startTimestamp), _server);
        }
        catch (TimeoutException)
        {
            throw RpcErrors.DeadlineExceeded(method, topic, Guid.Empty, _time.GetElapsedTime(startTimestamp), false);
        }
        catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested)
        {
            throw RpcErrors.ForCall(RpcStatus.Cancelled, "the caller cancelled the call", method, topic, Guid.Empty, _time.GetElapsedTime(startTimestamp), false, ex);
        }
        catch (KafkaException ex)
        {
            throw RpcErrors.TopicLookupFailed(method, topic, _time.GetElapsedTime(startTimestamp), ex, _server);
        }
        catch (ObjectDisposedException)
        {
            // The owner was disposed during the lookup (its admin client with it): the call fails as the owner's other calls do.
            throw RpcErrors.Disposed(method, topic, Guid.Empty, _time.GetElapsedTime(startTimestamp), false, _server);
        }
    }

    /// <summary>
    /// Starts the topic's lookup, or joins the one another caller started meanwhile: one lookup for every caller
    /// waiting on the topic. The lookup is stored before it starts, so its removal when it ends always comes after:
    /// when the lookup itself was stored, one that completed at once (or before the store, on another thread) removed
    /// nothing and then stayed stored for good, so a topic found missing failed every later call, even once created.
    /// </summary>
    private Task StartLookup(string topic)
    {
        // Continuations run inline, in the order the callers began waiting (as they did on the lookup's own task). That
        // alone does not keep a client's calls in order — a call made while they are released could pass them — the
        // client's send line (SendOrder) does.
        var done = new TaskCompletionSource();
        var lookup = _lookups.GetOrAdd(topic, done.Task);
        if (ReferenceEquals(lookup, done.Task))
        {
            _ = DescribeAsync(topic, done);
        }

        return lookup;
    }

    /// <summary>Looks the topic up and completes <paramref name="done"/> with the outcome; it ends within the admin client's API timeout, and a failed one is forgotten so the next call looks again.</summary>
    private async Task DescribeAsync(string topic, TaskCompletionSource done)
    {
        Exception? failure = null;
        try
        {
            await _describe(topic).ConfigureAwait(false);
            Remember(topic, warm: false);
        }
#pragma warning disable CA1031 // Whatever the lookup threw is its outcome: the callers waiting on it get it, through done.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            failure = ex;
        }

        // Removed before it completes, so a caller that sees it fail and calls again starts a new lookup; and only this
        // lookup, not one started after a Clear.
        _lookups.TryRemove(KeyValuePair.Create(topic, done.Task));
        if (failure is null)
        {
            done.TrySetResult();
        }
        else
        {
            done.TrySetException(failure);
        }
    }

    /// <summary>The topic's entry, marked used (written only when it was not, so calls to a known topic only read).</summary>
    private bool TryUse(string topic, out Entry entry)
    {
        if (!_known.TryGetValue(topic, out entry!))
        {
            return false;
        }

        if (!entry.Used)
        {
            entry.Used = true;
        }

        return true;
    }

    private void Remember(string topic, bool warm)
    {
        var entry = _known.GetOrAdd(topic, static _ => new Entry());
        entry.Used = true;
        if (warm)
        {
            entry.Warm = true;
        }

        if (_known.Count > _capacity)
        {
            Sweep();
        }
    }

    /// <summary>
    /// Brings the topics down to three quarters of the capacity (so sweeps are rare): first those not used since the
    /// previous sweep, the others start over as unused; then, when more than that many were all in use, any.
    /// </summary>
    private void Sweep()
    {
        lock (_sweep)
        {
            if (_known.Count <= _capacity)
            {
                return; // another sweep made room meanwhile
            }

            var excess = _known.Count - (_capacity * 3 / 4);

            foreach (var (topic, entry) in _known)
            {
                if (excess > 0 && !entry.Used && _known.TryRemove(KeyValuePair.Create(topic, entry)))
                {
                    excess--;
                }
                else
                {
                    entry.Used = false;
                }
            }

            foreach (var (topic, entry) in _known)
            {
                if (excess <= 0)
                {
                    break;
                }

                if (_known.TryRemove(KeyValuePair.Create(topic, entry)))
                {
                    excess--;
                }
            }
        }
    }

    /// <summary>A remembered topic: whether it was used since the last sweep, and whether it is warm.</summary>
    private sealed class Entry
    {
        public bool Used;
        public bool Warm;
    }
}
