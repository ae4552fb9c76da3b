using System.Diagnostics;

namespace Messaging.Threading;

/// <summary>
/// Fires deadlines to within a fraction of a millisecond: one background thread for the process waits for the
/// earliest deadline with <see cref="Monitor.Wait(object, int)"/> (a high-resolution kernel timed wait, ~0.1 ms late
/// here) in whole milliseconds, and yields through the last 0.3 ms.
/// </summary>
/// <remarks>
/// <para>Why not <see cref="Timer"/>: the runtime's timer queue counts time in <see cref="Environment.TickCount64"/>,
/// which Linux serves from a coarse clock that advances once per kernel tick (4 ms at CONFIG_HZ=250). A 5 ms
/// <c>linger.ms</c> armed on it fires after ~8.5 ms (measured here: p50 8.5 ms; <c>Monitor.Wait(5)</c> 5.13 ms).
/// Linger decides ack latency, and with callers awaiting each record it decides throughput too.</para>
/// <para>Entries are not removed when their waiter is woken early (by a signal): each carries the waiter's wait
/// version, and a stale entry is dropped as soon as it is the earliest — without the yielding before it, and without
/// a wake-up at its time when it was over before the thread began to sleep towards it (most waits end by a signal: a
/// sender woken by a record or a response long before its linger). The heap therefore holds at most the waits started
/// within the longest pending deadline — a few per producer sender in practice.</para>
/// <para>The thread is started on first use and is a background thread; with nothing scheduled it sleeps without a
/// timeout.</para>
/// </remarks>
internal sealed class DeadlineScheduler
{
    /// <summary>The process's scheduler.</summary>
    public static readonly DeadlineScheduler Shared = new();

    /// <summary>How much earlier than the deadline a kernel wait aims (its own lateness, ~0.1 ms here).</summary>
    private static readonly long KernelWaitMargin = Stopwatch.Frequency / 5000; // 0.2 ms

    /// <summary>At most this long before a deadline the thread yields instead of waiting in the kernel.</summary>
    private static readonly long SpinLimit = Stopwatch.Frequency * 3 / 10_000; // 0.3 ms

    private static readonly long TicksPerMillisecond = Stopwatch.Frequency / 1000;

    private readonly PriorityQueue<(IDeadlineTarget Target, int Version), long> _heap = new();
    private readonly object _lock = new(); // a monitor, not a Lock: the thread sleeps with Monitor.Wait on it
    private Thread? _thread;
    private long _earliest = long.MaxValue;

    /// <summary>A scheduler of its own (tests); everything else uses <see cref="Shared"/>.</summary>
    internal DeadlineScheduler()
    {
    }

    /// <summary>Entries waiting (stale ones included), for tests.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _heap.Count;
            }
        }
    }

    /// <summary>Calls <paramref name="target"/>'s <see cref="IDeadlineTarget.OnDeadline"/> with <paramref name="version"/> at <paramref name="deadlineTicks"/> (<see cref="Stopwatch"/> ticks: it serves <see cref="Clock.System"/> only).</summary>
    public void Schedule(IDeadlineTarget target, int version, long deadlineTicks)
    {
        lock (_lock)
        {
            _heap.Enqueue((target, version), deadlineTicks);
            if (_thread is null)
            {
                _thread = new Thread(Run) { IsBackground = true, Name = "Messaging deadlines" };
                _thread.Start();
            }

            if (deadlineTicks < _earliest)
            {
                _earliest = deadlineTicks;
                Monitor.Pulse(_lock); // the thread sleeps towards a later deadline: re-aim
            }
        }
    }

    private void Run()
    {
        while (true)
        {
            (IDeadlineTarget Target, int Version) due;
            lock (_lock)
            {
                while (true)
                {
                    if (!_heap.TryPeek(out var next, out var deadline))
                    {
                        _earliest = long.MaxValue;
                        Monitor.Wait(_lock);
                        continue;
                    }

                    if (!next.Target.IsPending(next.Version))
                    {
                        // The wait this entry was for has ended (a signal woke it first): drop it now rather than at
                        // its time. An entry already over when it becomes the earliest costs no wake-up at its time;
                        // one that ends while this thread sleeps towards it still wakes it once, but never yields.
                        _heap.Dequeue();
                        continue;
                    }

                    _earliest = deadline;
                    var remaining = deadline - Stopwatch.GetTimestamp();
                    if (remaining <= 0)
                    {
                        due = _heap.Dequeue();
                        break;
                    }

                    if (remaining > SpinLimit)
                    {
                        // Approach in whole milliseconds rounded down (the wait itself is ~0.1 ms late); a last step
                        // shorter than a millisecond is a 1 ms wait.
                        var ms = (remaining - KernelWaitMargin) / TicksPerMillisecond;
                        Monitor.Wait(_lock, ms >= 1 ? (int)Math.Min(ms, int.MaxValue) : 1);
                        continue;
                    }

                    // The last fraction of a millisecond: yield (outside the lock, so Schedule is never held up). Kept
                    // short: a longer spin would cost more CPU than the precision is worth.
                    Monitor.Exit(_lock);
                    try
                    {
                        while (Stopwatch.GetTimestamp() < deadline && Volatile.Read(ref _earliest) == deadline && next.Target.IsPending(next.Version))
                        {
                            Thread.Yield();
                        }
                    }
                    finally
                    {
                        Monitor.Enter(_lock);
                    }
                }
            }

            try
            {
                due.Target.OnDeadline(due.Version);
            }
            catch (Exception ex)
            {
                // A target's callback only completes a wait; it must not take the process's deadline thread down.
                Debug.Fail("A deadline callback threw: " + ex);
            }
        }
    }
}

/// <summary>Something a <see cref="DeadlineScheduler"/> calls back at a deadline.</summary>
internal interface IDeadlineTarget
{
    /// <summary>The deadline scheduled with <paramref name="version"/> has come (it may be stale: compare the version). Runs on the scheduler's thread: must be quick and must not block.</summary>
    void OnDeadline(int version);

    /// <summary>
    /// False once the wait scheduled with <paramref name="version"/> has ended (and stays false): the scheduler then
    /// drops the entry without waiting for its time. Called on the scheduler's thread — under its lock, and again on
    /// every turn while it yields towards the deadline — so it must be a cheap read.
    /// </summary>
    bool IsPending(int version);
}
