namespace Messaging.Connection;

/// <summary>
/// The requests written to one connection and not yet answered, in the order they went on the wire. Kafka answers
/// a connection's requests in order, so a response belongs to the head of this queue or to nobody.
/// </summary>
/// <remarks>A ring of fixed capacity (the connection's in-flight limit): no allocation per request. Callers lock <see cref="SyncRoot"/>.</remarks>
internal sealed class PendingRequestQueue
{
    private readonly IPendingRequest?[] _items;
    private int _head;
    private int _count;

    public PendingRequestQueue(int capacity) => _items = new IPendingRequest?[capacity];

    public Lock SyncRoot { get; } = new();

    public int Count => _count;

    public void Enqueue(IPendingRequest request)
    {
        if (_count == _items.Length)
        {
            // The in-flight semaphore admits at most Capacity requests; getting here is a bug, not bad input.
            throw new InvalidOperationException("More requests are in flight than the connection admits.");
        }

        _items[(_head + _count) % _items.Length] = request;
        _count++;
    }

    public IPendingRequest? Peek() => _count == 0 ? null : _items[_head];

    public IPendingRequest Dequeue()
    {
        var request = _items[_head]!;
        _items[_head] = null;
        _head = (_head + 1) % _items.Length;
        _count--;
        return request;
    }

    /// <summary>The i-th oldest request (0 = head).</summary>
    public IPendingRequest At(int index) => _items[(_head + index) % _items.Length]!;
}
