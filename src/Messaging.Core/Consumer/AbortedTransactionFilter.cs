using Messaging.Protocol.Messages;
using Messaging.Records;

namespace Messaging.Consumer;

/// <summary>
/// Hides the records of aborted transactions in one partition's fetched data under read_committed, from the
/// response's aborted-transaction list (the Java client's algorithm): walking the batches in offset order, a producer
/// becomes "aborting" when a listed aborted transaction of its starts at or before the batch's last offset; its
/// transactional batches are then skipped until its ABORT marker (a control batch) ends the transaction.
/// </summary>
/// <remarks>
/// One instance per consumer, reset for each partition's data; no allocation once its lists have grown. The broker
/// returns only records below the last stable offset under read_committed, so every transaction in the data is decided.
/// </remarks>
internal sealed class AbortedTransactionFilter
{
    private FetchResponse.AbortedTransaction[] _aborted = [];
    private int _abortedCount;
    private int _next;
    private long[] _active = new long[4];
    private int _activeCount;

    /// <summary>Starts a partition's data with its aborted-transaction list (null or empty: nothing is aborted).</summary>
    public void Reset(FetchResponse.AbortedTransaction[]? aborted)
    {
        _next = 0;
        _activeCount = 0;
        _abortedCount = aborted?.Length ?? 0;
        if (_abortedCount == 0)
        {
            return;
        }

        if (_aborted.Length < _abortedCount)
        {
            _aborted = new FetchResponse.AbortedTransaction[Math.Max(_abortedCount, _aborted.Length * 2)];
        }

        aborted.AsSpan().CopyTo(_aborted);
        _aborted.AsSpan(0, _abortedCount).Sort(static (a, b) => a.FirstOffset.CompareTo(b.FirstOffset));
    }

    /// <summary>
    /// Moves to <paramref name="batch"/> (batches come in offset order): every listed aborted transaction starting at
    /// or before the batch's last offset makes its producer "aborting".
    /// </summary>
    /// <param name="batch">The next batch.</param>
    public void Advance(in RecordBatch batch)
    {
        if (_next < _abortedCount && batch.Magic >= 2 && batch.ProducerId >= 0)
        {
            ActivateUpTo(batch.LastOffset);
        }
    }

    /// <summary>True when a (non-control) batch belongs to an aborted transaction and must be hidden.</summary>
    /// <param name="batch">The batch, after <see cref="Advance"/>.</param>
    /// <returns>Whether to skip it.</returns>
    public bool IsAborted(in RecordBatch batch) => _activeCount > 0 && batch.IsTransactional && IsActive(batch.ProducerId);

    /// <summary>True when <paramref name="producerId"/> has an aborted transaction in progress (so its ABORT marker matters).</summary>
    /// <param name="producerId">The producer.</param>
    /// <returns>Whether it is aborting.</returns>
    public bool IsAborting(long producerId) => _activeCount > 0 && IsActive(producerId);

    /// <summary>The producer's ABORT marker was reached: its aborted transaction is over.</summary>
    /// <param name="producerId">The producer.</param>
    public void EndAborted(long producerId)
    {
        int index = _active.AsSpan(0, _activeCount).IndexOf(producerId);
        if (index >= 0)
        {
            _active[index] = _active[--_activeCount];
        }
    }

    private void ActivateUpTo(long lastOffset)
    {
        while (_next < _abortedCount && _aborted[_next].FirstOffset <= lastOffset)
        {
            long producerId = _aborted[_next++].ProducerId;
            if (!IsActive(producerId))
            {
                if (_activeCount == _active.Length)
                {
                    Array.Resize(ref _active, _active.Length * 2);
                }

                _active[_activeCount++] = producerId;
            }
        }
    }

    private bool IsActive(long producerId) => _active.AsSpan(0, _activeCount).Contains(producerId);
}
