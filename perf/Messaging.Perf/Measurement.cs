using System.Diagnostics;

namespace Messaging.Perf;

/// <summary>
/// What one timed run cost: wall time, this process's CPU time, managed bytes allocated (all threads) and GC counts.
/// Start it right before the measured work and call <see cref="Stop"/> right after.
/// </summary>
internal sealed class Measurement
{
    private readonly Stopwatch _wall = Stopwatch.StartNew();
    private readonly TimeSpan _cpuStart = Process.GetCurrentProcess().TotalProcessorTime;
    private readonly long _allocatedStart = GC.GetTotalAllocatedBytes(precise: true);
    private readonly int[] _gcStart = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
    private readonly long _workItemsStart = ThreadPool.CompletedWorkItemCount;
    private readonly long _switchesStart = ContextSwitches();

    public TimeSpan Wall { get; private set; }

    public TimeSpan Cpu { get; private set; }

    public long AllocatedBytes { get; private set; }

    /// <summary>Thread-pool work items completed: each is a hand-off between threads (a continuation queued, a socket completion dispatched).</summary>
    public long WorkItems { get; private set; }

    /// <summary>Context switches of this process's threads (Linux; 0 elsewhere): each is a thread going to sleep or being preempted, and waking costs more than most of the work between them.</summary>
    public long Switches { get; private set; }

    public int Gen0 { get; private set; }

    public int Gen1 { get; private set; }

    public int Gen2 { get; private set; }

    public static Measurement Start() => new();

    public Measurement Stop()
    {
        Wall = _wall.Elapsed;
        AllocatedBytes = GC.GetTotalAllocatedBytes(precise: true) - _allocatedStart; // before reading the CPU time, which allocates
        Cpu = Process.GetCurrentProcess().TotalProcessorTime - _cpuStart;
        WorkItems = ThreadPool.CompletedWorkItemCount - _workItemsStart;
        Switches = ContextSwitches() - _switchesStart;
        Gen0 = GC.CollectionCount(0) - _gcStart[0];
        Gen1 = GC.CollectionCount(1) - _gcStart[1];
        Gen2 = GC.CollectionCount(2) - _gcStart[2];
        return this;
    }

    /// <summary>Voluntary and involuntary context switches of this process's live threads, from /proc (0 off Linux).</summary>
    public static long ContextSwitches()
    {
        if (!OperatingSystem.IsLinux())
        {
            return 0;
        }

        long total = 0;
        foreach (var task in Directory.GetDirectories("/proc/self/task"))
        {
            try
            {
                foreach (var line in File.ReadLines(Path.Combine(task, "status")))
                {
                    if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal) || line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                    {
                        total += long.Parse(line.AsSpan(line.IndexOf(':') + 1).Trim(), System.Globalization.CultureInfo.InvariantCulture);
                    }
                }
            }
            catch (IOException)
            {
                // The thread ended while we looked.
            }
        }

        return total;
    }

    /// <summary>CPU time of this process's threads whose name starts with <paramref name="prefix"/> (Linux /proc), e.g. librdkafka's <c>rdk:</c> threads.</summary>
    public static TimeSpan ThreadCpu(string prefix)
    {
        if (!OperatingSystem.IsLinux())
        {
            return TimeSpan.Zero;
        }

        long ticks = 0;
        foreach (var task in Directory.GetDirectories("/proc/self/task"))
        {
            try
            {
                var name = File.ReadAllText(Path.Combine(task, "comm")).Trim();
                if (!name.StartsWith(prefix, StringComparison.Ordinal))
                {
                    continue;
                }

                // Fields 14 and 15 of stat (utime, stime) in clock ticks; the name field may contain spaces, so split after ')'.
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                ticks += long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                // The thread ended while we looked.
            }
        }

        return TimeSpan.FromSeconds(ticks / 100.0); // USER_HZ is 100 on Linux
    }
}
