using System.Threading.Channels;

namespace Messaging.Hosting;

/// <summary>
/// One assigned partition of a hosted consumer: a queue of its records and one loop handling them in offset order,
/// storing each offset after its record is handled (so commits never pass an unhandled record). Created when the
/// partition is assigned, closed when it is revoked or the host stops.
/// </summary>
/// <remarks>
/// <para>Flow control without locks: the consume loop counts records in (<see cref="TryEnqueue"/>) and pauses the
/// partition — on the consuming thread, between records, where a pause is exact — when
/// <see cref="KafkaConsumerHandlerOptions.PartitionBufferSize"/> are waiting; the worker counts them out and resumes
/// at half. The race between the two is closed Dekker-style: the consume loop pauses, then raises the flag, then reads
/// the count; the worker lowers the count, then reads the flag (both through interlocked operations, which are full
/// fences). Whichever comes second sees the other's write, so a drained queue never stays paused; the flag's
/// compare-exchange makes exactly one of them resume.</para>
/// <para>Closing (revoked, host stopping) cancels <c>closing</c>: queued records are dropped (the next owner reads
/// them again from the committed offset) and no new attempt starts; the handler in flight finishes. Abandoning
/// (drain timeout, partition lost) also cancels the handler's token and stops storing offsets.</para>
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable", Justification = "The loop disposes its cancellation sources when it ends; Close and Abandon tolerate that.")]
internal sealed class PartitionWorker<TKey, TValue>
{
    private readonly RecordProcessor<TKey, TValue> _processor;
    private readonly Channel<WorkItem<TKey, TValue>> _items = Channel.CreateUnbounded<WorkItem<TKey, TValue>>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _closing = new();
    private readonly CancellationTokenSource _abandon = new();
    private readonly CancellationToken _closingToken;
    private readonly CancellationToken _abandonToken;
    private readonly int _pauseAt;
    private readonly int _resumeAt;
    private readonly Task _loop;
    private int _buffered;
    private int _paused;
    private volatile bool _stopped;
    private volatile bool _busy;

    public PartitionWorker(TopicPartition partition, RecordProcessor<TKey, TValue> processor)
    {
        Partition = partition;
        _processor = processor;
        _closingToken = _closing.Token;
        _abandonToken = _abandon.Token;
        _pauseAt = processor.Options.PartitionBufferSize;
        _resumeAt = _pauseAt / 2;
        _loop = Task.Run(RunAsync, CancellationToken.None);
    }

    public TopicPartition Partition { get; }

    /// <summary>
    /// The offset after the last record queued; read and written by the consume loop only. A record below it was
    /// already queued (delivered again after a pause raced with a delivery) and is dropped.
    /// </summary>
    public long NextOffset { get; private set; } = -1;

    /// <summary>Completes when the loop ended (closed and its in-flight record done, or abandoned).</summary>
    public Task Completion => _loop;

    /// <summary>True while a record of this partition is being handled.</summary>
    public bool InFlight => _busy;

    /// <summary>Queues a record (consume loop only); false when the partition was closed meanwhile (the record is dropped).</summary>
    public bool TryEnqueue(in WorkItem<TKey, TValue> item)
    {
        if (!_items.Writer.TryWrite(item))
        {
            return false;
        }

        NextOffset = item.Record.Offset + 1;
        if (Interlocked.Increment(ref _buffered) >= _pauseAt && Volatile.Read(ref _paused) == 0 && _processor.TryPause(Partition))
        {
            Interlocked.Exchange(ref _paused, 1);
            if (Volatile.Read(ref _buffered) <= _resumeAt)
            {
                Resume(); // the worker drained the queue between the count and the flag
            }
        }

        return true;
    }

    /// <summary>Stops taking records: queued ones are dropped, the one in flight finishes.</summary>
    public void Close()
    {
        _items.Writer.TryComplete();
        Cancel(_closing);
    }

    /// <summary>Gives up the partition at once: the running handler is cancelled and nothing more is stored.</summary>
    public void Abandon()
    {
        Cancel(_abandon);
        Close();
    }

    private static void Cancel(CancellationTokenSource source)
    {
        try
        {
            source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The loop already ended and released its sources.
        }
    }

    private async Task RunAsync()
    {
        var reader = _items.Reader;
        try
        {
            while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
            {
                while (reader.TryRead(out var item))
                {
                    if (_closingToken.IsCancellationRequested || _stopped)
                    {
                        continue; // dropped: the next owner reads it again from the committed offset
                    }

                    _busy = true;
                    var outcome = await _processor.ProcessAsync(item, _closingToken, _abandonToken).ConfigureAwait(false);
                    _busy = false;
                    if (outcome is WorkOutcome.Handled or WorkOutcome.DeadLettered)
                    {
                        if (!_abandonToken.IsCancellationRequested)
                        {
                            _processor.Store(Partition, item.Record.Offset + 1);
                        }
                    }
                    else if (outcome == WorkOutcome.Stopped)
                    {
                        // Nothing after this record is handled, so nothing after it is committed; the partition stays
                        // paused until it is revoked, and its next owner (or this service after a restart) starts here.
                        _stopped = true;
                        _processor.TryPause(Partition);
                        continue;
                    }

                    if (Interlocked.Decrement(ref _buffered) <= _resumeAt && Volatile.Read(ref _paused) == 1)
                    {
                        Resume();
                    }
                }
            }
        }
        finally
        {
            _busy = false;
            _closing.Dispose();
            _abandon.Dispose();
        }
    }

    private void Resume()
    {
        if (!_stopped && Interlocked.CompareExchange(ref _paused, 0, 1) == 1)
        {
            _processor.TryResume(Partition);
        }
    }
}
