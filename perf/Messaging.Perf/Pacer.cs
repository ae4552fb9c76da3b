using System.Diagnostics;

namespace Messaging.Perf;

/// <summary>
/// Calls a send action at a fixed rate, on the calling thread, without spinning: it sleeps for the shortest time the
/// OS allows (a timer tick, 1–4 ms here) and then sends every record whose due time has passed, so at 10,000 msgs/s
/// records leave in small bursts. Both clients are paced by the same code, so they see the same bursts; a record's
/// latency counts from the moment it was actually sent.
/// </summary>
internal static class Pacer
{
    /// <summary>Calls <paramref name="send"/> with 0 … <paramref name="count"/>-1, the i-th at i/<paramref name="rate"/> s after the start.</summary>
    public static void Run(long count, int rate, Action<long> send, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var ticksPerRecord = (double)Stopwatch.Frequency / rate;
        long next = 0;
        while (next < count)
        {
            var now = Stopwatch.GetTimestamp();
            var due = (long)((now - start) / ticksPerRecord) + 1;
            while (next < count && next < due)
            {
                send(next++);
            }

            if (next < count)
            {
                cancellationToken.ThrowIfCancellationRequested();
                Thread.Sleep(1);
            }
        }
    }
}
