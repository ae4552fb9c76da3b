namespace Messaging.Producer;

/// <summary>
/// A partition's closed batches waiting to be sent, oldest first: a growable ring, so queueing allocates nothing in
/// the steady state. Batches sent and failed retriably come back in sequence order (<see cref="InsertInSequenceOrder"/>),
/// ahead of newer ones. Not thread-safe: used under the partition's lock.
/// </summary>
internal sealed class BatchQueue
{
    private ProducerBatch?[] _items = new ProducerBatch?[4];
    private int _head;
    private int _count;

    public int Count => _count;

    public ProducerBatch? PeekFirst() => _count == 0 ? null : _items[_head];

    public ProducerBatch this[int index] => _items[(_head + index) % _items.Length]!;

    public void AddLast(ProducerBatch batch)
    {
        EnsureRoom();
        _items[(_head + _count) % _items.Length] = batch;
        _count++;
    }

    public void AddFirst(ProducerBatch batch)
    {
        EnsureRoom();
        _head = (_head - 1 + _items.Length) % _items.Length;
        _items[_head] = batch;
        _count++;
    }

    public ProducerBatch RemoveFirst()
    {
        var batch = _items[_head]!;
        _items[_head] = null;
        _head = (_head + 1) % _items.Length;
        _count--;
        return batch;
    }

    /// <summary>
    /// Puts a batch that is to be retried back: before every batch without a sequence or with a higher one, so
    /// sequenced batches leave in sequence order (the Java client's <c>insertInSequenceOrder</c>). Without a
    /// sequence (idempotence off) it goes first.
    /// </summary>
    public void InsertInSequenceOrder(ProducerBatch batch)
    {
        if (!batch.HasSequence)
        {
            AddFirst(batch);
            return;
        }

        var position = 0;
        while (position < _count && this[position].HasSequence && ProducerBatch.CompareSequences(this[position].BaseSequence, batch.BaseSequence) < 0)
        {
            position++;
        }

        EnsureRoom();
        // Shift [position, count) one slot right, then place the batch.
        for (var i = _count; i > position; i--)
        {
            _items[(_head + i) % _items.Length] = _items[(_head + i - 1) % _items.Length];
        }

        _items[(_head + position) % _items.Length] = batch;
        _count++;
    }

    /// <summary>
    /// Moves every batch whose delivery deadline passed by <paramref name="now"/> to <paramref name="expired"/>, from
    /// anywhere in the queue, not only the front: deadlines are not in queue order (a record that waited for memory or
    /// metadata brings its batch's deadline forward to its call's, and a retried batch without a sequence goes back
    /// first). The batches left keep their order. One pass, no allocation.
    /// </summary>
    public void RemoveExpired(long now, List<ProducerBatch> expired)
    {
        var kept = 0;
        for (var i = 0; i < _count; i++)
        {
            var batch = _items[(_head + i) % _items.Length]!;
            if (batch.DeadlineTicks <= now)
            {
                expired.Add(batch);
            }
            else
            {
                _items[(_head + kept) % _items.Length] = batch; // kept <= i: that slot was read already
                kept++;
            }
        }

        for (var i = kept; i < _count; i++)
        {
            _items[(_head + i) % _items.Length] = null;
        }

        _count = kept;
    }

    private void EnsureRoom()
    {
        if (_count < _items.Length)
        {
            return;
        }

        var grown = new ProducerBatch?[_items.Length * 2];
        for (var i = 0; i < _count; i++)
        {
            grown[i] = _items[(_head + i) % _items.Length];
        }

        _items = grown;
        _head = 0;
    }
}
