using System.Collections.Concurrent;

namespace Messaging.Buffers;

/// <summary>
/// A lock-free pool that keeps at most a fixed number of idle objects; beyond that, returned objects are left to the
/// GC. <see cref="Rent"/> returns null when empty (the caller creates one). Objects are reset by the caller.
/// </summary>
internal sealed class BoundedPool<T>(int capacity)
    where T : class
{
    private readonly ConcurrentQueue<T> _items = new();
    private int _count;

    public T? Rent()
    {
        if (_items.TryDequeue(out var item))
        {
            Interlocked.Decrement(ref _count);
            return item;
        }

        return null;
    }

    /// <summary>Keeps <paramref name="item"/> for reuse; false (left to the caller or the GC) when the pool is full.</summary>
    public bool Return(T item)
    {
        if (Interlocked.Increment(ref _count) <= capacity)
        {
            _items.Enqueue(item);
            return true;
        }

        Interlocked.Decrement(ref _count);
        return false;
    }
}
