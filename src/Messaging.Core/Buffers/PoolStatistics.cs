using System.Runtime.InteropServices;

namespace Messaging.Pools;

/// <summary>A snapshot of one pool's counters since it was created.</summary>
/// <param name="Rents">Items (buffers, arrays, records) handed out.</param>
/// <param name="Returns">Items given back.</param>
/// <param name="Misses">Rents the pool could not serve from what it retained, so it allocated.</param>
/// <param name="Drops">Returns the pool did not keep (over its retention bounds, or not of a size it pools), left to the GC.</param>
/// <param name="RetainedCount">Items held for reuse right now.</param>
/// <param name="RetainedBytes">Approximate bytes held for reuse right now.</param>
[StructLayout(LayoutKind.Auto)]
public readonly record struct PoolStatistics(long Rents, long Returns, long Misses, long Drops, long RetainedCount, long RetainedBytes);
