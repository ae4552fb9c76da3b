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
internal sealed class KnownTopics
{
    private const int Exists = 1;
    private const int Warm = 2;

    private readonly ConcurrentDictionary<string, int> _known = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task> _lookups = new(StringComparer.Ordinal);
    private readonly KafkaAdminClient _admin;
    private readonly TimeProvider _time;

    public KnownTopics(KafkaAdminClient admin, TimeProvider time)
    {
        _admin = admin;
        _time = time;
    }

    /// <summary>Completes when <paramref name="topic"/> exists; throws <see cref="RpcException"/> when it does not, or cannot be looked up within <paramref name="wait"/>.</summary>
    public ValueTask EnsureAsync(string topic, string method, long startTimestamp, TimeSpan wait, CancellationToken cancellationToken) =>
        _known.ContainsKey(topic) ? ValueTask.CompletedTask : LookUpAsync(topic, method, startTimestamp, wait, cancellationToken);

    public bool IsWarm(string topic) => _known.TryGetValue(topic, out var state) && state == Warm;

    public void MarkWarm(string topic) => _known[topic] = Warm;

    public void Clear()
    {
        _known.Clear();
        _lookups.Clear();
    }

    private async ValueTask LookUpAsync(string topic, string method, long startTimestamp, TimeSpan wait, CancellationToken cancellationToken)
    {
        var lookup = _lookups.GetOrAdd(topic, static (name, self) => self.DescribeAsync(name), this);
        try
        {
            // At most one timer step: a lookup is bounded by the admin client's timeout, far below it.
            await lookup.WaitAsync(FarDeadline.StepOf(wait), _time, cancellationToken).ConfigureAwait(false);
        }
        catch (KafkaAdminException ex) when (ex.Errors.TryGetValue(topic, out var error) && error is KafkaErrorException { Code: ErrorCode.UnknownTopicOrPartition })
        {
            throw RpcErrors.TopicMissing(method, topic, _time.GetElapsedTime(startTimestamp));
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
            throw RpcErrors.TopicLookupFailed(method, topic, _time.GetElapsedTime(startTimestamp), ex);
        }
    }

    /// <summary>One lookup for every caller waiting on the topic; it ends within the admin client's API timeout, and a failed one is forgotten so the next call looks again.</summary>
    private async Task DescribeAsync(string topic)
    {
        try
        {
            await _admin.DescribeTopicsAsync([topic]).ConfigureAwait(false);
            _known.TryAdd(topic, Exists);
        }
        finally
        {
            _lookups.TryRemove(topic, out _);
        }
    }
}
