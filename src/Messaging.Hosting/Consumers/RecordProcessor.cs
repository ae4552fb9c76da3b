using Microsoft.Extensions.DependencyInjection;

namespace Messaging.Hosting;

/// <summary>
/// Runs one record through its handler for every partition of a hosted consumer: attempts with exponential backoff,
/// each in a new DI scope and within the shared concurrency limit; when they are used up, the dead-letter topic or
/// the stop-the-partition policy. Also the partitions' access to the consumer (store offsets, pause, resume).
/// </summary>
/// <remarks>
/// A concurrency slot is held only while a handler runs, not during the backoff between attempts, so a failing
/// partition does not take slots from healthy ones.
/// </remarks>
internal sealed class RecordProcessor<TKey, TValue>(
    string name,
    KafkaConsumerHandlerOptions options,
    IServiceScopeFactory scopes,
    Func<IServiceProvider, IKafkaRecordHandler<TKey, TValue>> resolveHandler,
    IKafkaConsumer consumer,
    DeadLetterWriter? deadLetters,
    KafkaConsumerHandlerStatus status,
    ConsumerHandlerLog log,
    TimeProvider time) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(options.MaxConcurrency, options.MaxConcurrency);

    public KafkaConsumerHandlerOptions Options { get; } = options;

    /// <summary>Handles <paramref name="item"/>: its attempts, then its dead letter or the stop.</summary>
    /// <param name="item">The record.</param>
    /// <param name="closing">Cancelled when the partition goes away or the host stops: no further attempt starts.</param>
    /// <param name="abandon">Cancelled when a running handler must give up (drain timeout, partition lost).</param>
    public async ValueTask<WorkOutcome> ProcessAsync(WorkItem<TKey, TValue> item, CancellationToken closing, CancellationToken abandon)
    {
        if (item.DeserializationFailure is { } unreadable)
        {
            return await GiveUpAsync(item, unreadable.SourceException, 0, "its key or value could not be deserialized", abandon).ConfigureAwait(false);
        }

        Exception? last = null;
        for (int attempt = 1; attempt <= Options.MaxAttempts; attempt++)
        {
            try
            {
                if (attempt > 1)
                {
                    await Task.Delay(Backoff(attempt - 1), time, closing).ConfigureAwait(false);
                }

                await _slots.WaitAsync(closing).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (closing.IsCancellationRequested)
            {
                return WorkOutcome.Abandoned; // not started (again): the next owner runs it
            }

            try
            {
                var scope = scopes.CreateAsyncScope();
                await using (scope.ConfigureAwait(false))
                {
                    var handler = resolveHandler(scope.ServiceProvider);
                    await handler.HandleAsync(item.Record, abandon).ConfigureAwait(false);
                }

                return WorkOutcome.Handled;
            }
            catch (OperationCanceledException) when (abandon.IsCancellationRequested)
            {
                return WorkOutcome.Abandoned;
            }
#pragma warning disable CA1031 // Whatever the handler throws is its record's failure: retried, then dead-lettered or the partition stopped.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                last = ex;
                log.AttemptFailed(name, attempt, Options.MaxAttempts, item.Record.TopicPartition, item.Record.Offset, ex);
            }
            finally
            {
                _slots.Release();
            }
        }

        return await GiveUpAsync(item, last!, Options.MaxAttempts, "its handler failed " + Options.MaxAttempts + " time(s)", abandon).ConfigureAwait(false);
    }

    /// <summary>Stores the offset after a handled record (the offset of the next one), unless the partition already left.</summary>
    public void Store(TopicPartition partition, long nextOffset)
    {
        try
        {
            consumer.StoreOffset(partition, nextOffset);
        }
        catch (ArgumentException)
        {
            // Revoked meanwhile (after its drain timeout): the next owner runs the record again.
        }
    }

    /// <summary>Pauses a partition; false when it is no longer assigned.</summary>
    public bool TryPause(TopicPartition partition)
    {
        try
        {
            consumer.Pause([partition]);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    public void TryResume(TopicPartition partition)
    {
        try
        {
            consumer.Resume([partition]);
        }
        catch (ArgumentException)
        {
            // No longer assigned: nothing to resume.
        }
    }

    public void Dispose() => _slots.Dispose();

    private TimeSpan Backoff(int failures)
    {
        var backoff = Options.RetryBackoff;
        for (int i = 1; i < failures && backoff < Options.MaxRetryBackoff; i++)
        {
            backoff += backoff;
        }

        return backoff < Options.MaxRetryBackoff ? backoff : Options.MaxRetryBackoff;
    }

    private async ValueTask<WorkOutcome> GiveUpAsync(WorkItem<TKey, TValue> item, Exception error, int attempts, string why, CancellationToken abandon)
    {
        var record = item.Record;
        string reason;
        Exception cause = error;
        if (deadLetters is not null)
        {
            try
            {
                await deadLetters.WriteAsync(record.TopicPartition, record.Offset, item.RawKey, item.RawValue, record.Headers, error, attempts, abandon).ConfigureAwait(false);
                log.DeadLettered(name, record.TopicPartition, record.Offset, deadLetters.Topic, attempts, why + ": " + error.Message);
                return WorkOutcome.DeadLettered;
            }
            catch (OperationCanceledException) when (abandon.IsCancellationRequested)
            {
                return WorkOutcome.Abandoned;
            }
#pragma warning disable CA1031 // Not only KafkaException: a disposed producer (ObjectDisposedException), a custom one's own errors.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                // Whatever the producer threw, the record is neither handled nor dead-lettered: the partition stops here
                // (logged, reported by the health check). Letting it escape would end the partition's worker without a
                // trace while the partition stays assigned, its records piling up unhandled behind a pause.
                reason = why + " and producing its dead letter failed: " + ex.Message;
                cause = ex;
            }
        }
        else
        {
            reason = why + ": " + error.Message;
        }

        log.PartitionStopped(name, record.TopicPartition, record.Offset, reason, cause);
        status.PartitionStopped(record.TopicPartition, "stopped at offset " + record.Offset.ToString(System.Globalization.CultureInfo.InvariantCulture) + ": " + reason);
        return WorkOutcome.Stopped;
    }
}
