namespace Messaging.Rpc;

/// <summary>
/// A method's recent successful call latencies, for the hedging delay "the method's observed p95": a ring of the last
/// <see cref="Size"/> samples written lock-free, and a p95 recomputed from a sorted copy every 8
/// samples while the ring fills and every <see cref="RecomputeEvery"/> after (by whichever recorder crosses the mark; the others keep the cached value).
/// </summary>
internal sealed class LatencyWindow
{
    private const int Size = 128;
    private const int RecomputeEvery = 32;

    private readonly long[] _ticks = new long[Size];
    private long _count;
    private long _p95Ticks;

    public long Count => Interlocked.Read(ref _count);

    public void Record(TimeSpan latency)
    {
        var n = Interlocked.Increment(ref _count);
        Volatile.Write(ref _ticks[(n - 1) % Size], latency.Ticks);
        if (n % (n < Size ? 8 : RecomputeEvery) == 0)
        {
            Recompute(Math.Min(n, Size));
        }
    }

    /// <summary>The p95 of the window, or null before <paramref name="minimumSamples"/> samples.</summary>
    public TimeSpan? P95(int minimumSamples) =>
        Count >= minimumSamples && Interlocked.Read(ref _p95Ticks) is var ticks and > 0 ? TimeSpan.FromTicks(ticks) : null;

    private void Recompute(long filled)
    {
        var copy = new long[filled];
        for (var i = 0; i < copy.Length; i++)
        {
            copy[i] = Volatile.Read(ref _ticks[i]);
        }

        Array.Sort(copy);
        var index = (int)Math.Min(copy.Length - 1, (long)Math.Ceiling(copy.Length * 0.95) - 1);
        Interlocked.Exchange(ref _p95Ticks, copy[Math.Max(0, index)]);
    }
}
