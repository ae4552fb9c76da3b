namespace Messaging.Testing.Security;

/// <summary>
/// Tells Fetches the proxy holds (<see cref="KafkaProxyOptions.AnswerFetchesOnArrival"/>) that records may have arrived:
/// signalled when the broker's response to a request that writes to a log (Produce, EndTxn, DeleteRecords) or changes
/// which partitions exist (DeleteTopics, CreatePartitions) reaches the proxy, before it is passed on (a client that
/// never gets it, its connection cut, still wakes them). A generation count and one completion per
/// generation: a waiter that read the generation before it looked at the log cannot miss a signal that came after.
/// </summary>
internal sealed class RecordArrivals
{
    private readonly Lock _lock = new();
    private long _generation;
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The current generation: read it before looking at the log, then wait for a later one.</summary>
    public long Generation
    {
        get
        {
            lock (_lock)
            {
                return _generation;
            }
        }
    }

    /// <summary>Whether a response to <paramref name="api"/> may have made records fetchable, or partitions fail.</summary>
    public static bool Signals(ApiKey api) =>
        api is ApiKey.Produce or ApiKey.EndTxn or ApiKey.DeleteRecords or ApiKey.DeleteTopics or ApiKey.CreatePartitions;

    /// <summary>Starts a new generation and wakes every waiter of the one before.</summary>
    public void Signal()
    {
        TaskCompletionSource woken;
        lock (_lock)
        {
            _generation++;
            (woken, _next) = (_next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        }

        woken.TrySetResult();
    }

    /// <summary>Completes when a generation after <paramref name="seen"/> starts, when <paramref name="timeout"/> has passed, or (cancelled) at <paramref name="cancellationToken"/>.</summary>
    public async Task WaitAfterAsync(long seen, TimeSpan timeout, CancellationToken cancellationToken)
    {
        Task next;
        lock (_lock)
        {
            if (_generation != seen)
            {
                return;
            }

            next = _next.Task;
        }

        try
        {
            await next.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // The wait is over: the caller looks at the log once more.
        }
    }
}
