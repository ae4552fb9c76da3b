using System.Diagnostics;

namespace Messaging.Perf;

/// <summary>
/// Latencies of one round, one slot per record, recorded from any thread without locks or allocation (the slots are
/// allocated up front), then summarised as percentiles. A record that never completed leaves its slot empty and
/// is counted as missing.
/// </summary>
internal sealed class LatencyRecorder
{
    private readonly long[] _ticks;
    private int _count;

    public LatencyRecorder(int capacity) => _ticks = new long[capacity];

    public int Count => Math.Min(Volatile.Read(ref _count), _ticks.Length);

    public void Reset() => _count = 0;

    /// <summary>Records the time from <paramref name="startTimestamp"/> (a <see cref="Stopwatch"/> timestamp) to now.</summary>
    public void RecordSince(long startTimestamp) => Record(Stopwatch.GetTimestamp() - startTimestamp);

    /// <summary>Records one latency in <see cref="Stopwatch"/> ticks; beyond the capacity, latencies are dropped.</summary>
    public void Record(long ticks)
    {
        var slot = Interlocked.Increment(ref _count) - 1;
        if (slot < _ticks.Length)
        {
            _ticks[slot] = ticks;
        }
    }

    /// <summary>Sorts what was recorded (call once every record completed) and returns its percentiles.</summary>
    public LatencySummary Summarise()
    {
        var count = Count;
        if (count == 0)
        {
            return new LatencySummary(0, 0, 0, 0, 0);
        }

        Array.Sort(_ticks, 0, count);
        return new LatencySummary(count, Millis(Percentile(count, 0.50)), Millis(Percentile(count, 0.90)), Millis(Percentile(count, 0.99)), Millis(_ticks[count - 1]));
    }

    private long Percentile(int count, double fraction) => _ticks[Math.Min(count - 1, (int)Math.Ceiling(fraction * count) - 1)];

    private static double Millis(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}
