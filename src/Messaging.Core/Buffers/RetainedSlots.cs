namespace Messaging.Buffers;

/// <summary>
/// The slots a pool keeps returned items in, grown as items are kept and never past the pool's count limit: a limit
/// of <see cref="int.MaxValue"/> ("none but the bytes") allocates nothing up front, where slots for the whole limit
/// could not even be allocated.
/// </summary>
internal static class RetainedSlots
{
    /// <summary>Makes <paramref name="slots"/> hold at least <paramref name="needed"/> items (at most <paramref name="limit"/>), doubling.</summary>
    public static void EnsureRoom<T>(ref T[] slots, int needed, int limit)
    {
        if (needed > slots.Length)
        {
            Array.Resize(ref slots, (int)Math.Min(limit, Math.Max(needed, Math.Max(16L, slots.Length * 2L))));
        }
    }
}
