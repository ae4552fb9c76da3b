using System.Collections.Concurrent;

namespace Messaging.Rpc;

/// <summary>
/// Which request topics are known to exist: a call to a topic not yet seen first looks it up, so that a missing
/// topic fails at once with <see cref="RpcStatus.Unavailable"/> rather than after the producer's metadata wait and
/// the call's deadline. Only topics found to exist are remembered (a missing one may be created later).
/// </summary>
internal sealed class RequestTopics
{
    private readonly ConcurrentDictionary<string, bool> _known = new(StringComparer.Ordinal);
    private readonly KafkaAdminClient _admin;
    private readonly TimeProvider _time;

    public RequestTopics(KafkaAdminClient admin, TimeProvider time)
    {
        _admin = admin;
        _time = time;
    }

    /// <summary>Completes when <paramref name="topic"/> exists; throws <see cref="RpcException"/> (Unavailable) when it does not or cannot be looked up within <paramref name="wait"/>.</summary>
    public ValueTask EnsureAsync(string topic, string method, long startTimestamp, TimeSpan wait, CancellationToken cancellationToken) =>
        _known.ContainsKey(topic) ? ValueTask.CompletedTask : LookUpAsync(topic, method, startTimestamp, wait, cancellationToken);

    public void Clear() => _known.Clear();

    private async ValueTask LookUpAsync(string topic, string method, long startTimestamp, TimeSpan wait, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(wait > TimeSpan.Zero ? wait : TimeSpan.FromTicks(1));
        try
        {
            await _admin.DescribeTopicsAsync([topic], timeout.Token).ConfigureAwait(false);
        }
        catch (KafkaAdminException ex) when (ex.Errors.TryGetValue(topic, out var error) && error is KafkaErrorException { Code: ErrorCode.UnknownTopicOrPartition })
        {
            throw RpcErrors.TopicMissing(method, topic, _time.GetElapsedTime(startTimestamp));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw RpcErrors.DeadlineExceeded(method, topic, Guid.Empty, _time.GetElapsedTime(startTimestamp), false);
        }
        catch (KafkaException ex)
        {
            throw RpcErrors.TopicLookupFailed(method, topic, _time.GetElapsedTime(startTimestamp), ex);
        }

        _known.TryAdd(topic, true);
    }
}
