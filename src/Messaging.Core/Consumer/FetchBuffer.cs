using System.Threading.Channels;
using Messaging.Errors;

namespace Messaging.Consumer;

/// <summary>
/// The fetched data waiting for the application, in fetch order, and the buffered-bytes budget that pauses fetching
/// while the application is behind.
/// </summary>
/// <remarks>
/// Producers (the broker fetchers and the maintenance loop) <see cref="Enqueue"/> under the cursors' lock, so a
/// partition's entries arrive in the order they were fetched; the consuming side takes them with
/// <see cref="TakeAsync"/> and hands them back with <see cref="Done"/>, which releases their frame reference and
/// their budget.
/// </remarks>
internal sealed class FetchBuffer
{
    private readonly Channel<FetchedPartition> _ready = Channel.CreateUnbounded<FetchedPartition>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
    private readonly long _maxBufferedBytes;
    private readonly Action _budgetFreed;
    private long _bufferedBytes;

    /// <param name="maxBufferedBytes">The budget: fetching pauses while this many bytes wait.</param>
    /// <param name="budgetFreed">Called when <see cref="Done"/> brings the buffered bytes back under the budget (the broker fetchers may fetch again); not per entry.</param>
    public FetchBuffer(long maxBufferedBytes, Action budgetFreed)
    {
        _maxBufferedBytes = maxBufferedBytes;
        _budgetFreed = budgetFreed;
    }

    /// <summary>Bytes fetched and not yet consumed.</summary>
    public long BufferedBytes => Volatile.Read(ref _bufferedBytes);

    /// <summary>True while the budget is used up: nothing more is fetched until the consumer frees some.</summary>
    public bool IsFull => Volatile.Read(ref _bufferedBytes) >= _maxBufferedBytes;

    /// <summary>Queues fetched data (its bytes count against the budget until <see cref="Done"/>).</summary>
    public void Enqueue(FetchedPartition chunk)
    {
        if (chunk.Bytes > 0)
        {
            Interlocked.Add(ref _bufferedBytes, chunk.Bytes);
        }

        if (!_ready.Writer.TryWrite(chunk))
        {
            Done(chunk); // disposed
        }
    }

    /// <summary>Queues an error the application must see in the partition's order.</summary>
    public void EnqueueError(PartitionCursor cursor, CursorGeneration generation, ConsumeException error) =>
        Enqueue(FetchedPartition.ForError(cursor, generation, error));

    /// <summary>The next fetched data, in fetch order.</summary>
    /// <exception cref="ObjectDisposedException">The consumer was disposed.</exception>
    public async ValueTask<FetchedPartition> TakeAsync(CancellationToken cancellationToken)
    {
        var reader = _ready.Reader;
        while (true)
        {
            if (reader.TryRead(out var chunk))
            {
                return chunk;
            }

            try
            {
                if (!await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    throw KafkaExceptions.Disposed("The consumer");
                }
            }
            catch (ChannelClosedException)
            {
                throw KafkaExceptions.Disposed("The consumer");
            }
        }
    }

    /// <summary>Takes fetched data without waiting, if there is some.</summary>
    public bool TryTake(out FetchedPartition chunk) => _ready.Reader.TryRead(out chunk!);

    /// <summary>
    /// The consumer is done with <paramref name="chunk"/>: its frame reference and its budget are released, and the
    /// object goes back to its pool (the caller must not touch it afterwards).
    /// </summary>
    public void Done(FetchedPartition chunk)
    {
        if (ReferenceEquals(chunk, FetchedPartition.WakeUp))
        {
            return;
        }

        int bytes = chunk.Bytes;
        chunk.Frame?.Release();
        chunk.Recycle();
        if (bytes > 0)
        {
            long before = Interlocked.Add(ref _bufferedBytes, -bytes) + bytes;
            if (before >= _maxBufferedBytes && before - bytes < _maxBufferedBytes)
            {
                _budgetFreed();
            }
        }
    }

    /// <summary>Wakes the consuming side if it waits: it takes <see cref="FetchedPartition.WakeUp"/> and looks at its group.</summary>
    public void WakeConsumer() => _ready.Writer.TryWrite(FetchedPartition.WakeUp);

    /// <summary>Takes no more data and releases everything still queued (the consumer is closing).</summary>
    public void Close()
    {
        _ready.Writer.TryComplete();
        while (_ready.Reader.TryRead(out var chunk))
        {
            Done(chunk);
        }
    }
}
