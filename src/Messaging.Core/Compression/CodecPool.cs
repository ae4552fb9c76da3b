namespace Messaging.Compression;

/// <summary>
/// A small lock-free pool of reusable codec state (zstd contexts and the like): a fixed array of slots, rented by
/// swapping a slot with null and returned by a compare-exchange into an empty slot. When every slot is empty the
/// caller creates a new instance; when every slot is full a returned instance is dropped (and disposed).
/// </summary>
/// <typeparam name="T">The pooled type.</typeparam>
internal sealed class CodecPool<T>
    where T : class, IDisposable
{
    private readonly T?[] _slots;

    /// <summary>Creates a pool with room for <paramref name="capacity"/> instances.</summary>
    /// <param name="capacity">The number of slots.</param>
    public CodecPool(int capacity) => _slots = new T?[capacity];

    /// <summary>Takes a pooled instance, or returns null when none is pooled.</summary>
    /// <returns>An instance the caller now owns, or null.</returns>
    public T? TryRent()
    {
        T?[] slots = _slots;
        for (int i = 0; i < slots.Length; i++)
        {
            T? item = Volatile.Read(ref slots[i]);
            if (item != null && Interlocked.CompareExchange(ref slots[i], null, item) == item)
            {
                return item;
            }
        }

        return null;
    }

    /// <summary>Gives an instance back; disposes it when the pool is full.</summary>
    /// <param name="item">The instance; the caller must not use it afterwards.</param>
    public void Return(T item)
    {
        T?[] slots = _slots;
        for (int i = 0; i < slots.Length; i++)
        {
            if (Volatile.Read(ref slots[i]) == null && Interlocked.CompareExchange(ref slots[i], item, null) == null)
            {
                return;
            }
        }

        item.Dispose();
    }
}
