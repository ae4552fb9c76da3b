using System.Diagnostics;
using System.Threading.Tasks.Sources;

namespace Messaging.Threading;

/// <summary>
/// An auto-reset event for one waiting loop, awaited without allocating: <see cref="Set"/> from any thread wakes
/// the waiter (or is remembered until it next waits; any number of sets before a wait wake it once);
/// <see cref="WaitAsync(long, CancellationToken)"/> also returns at a deadline, to within a fraction of a
/// millisecond (<see cref="DeadlineScheduler"/>).
/// </summary>
/// <remarks>
/// States: idle, signalled, waiting. <see cref="Set"/>, the deadline and cancellation race to move a waiting signal
/// back to idle; whoever wins completes the wait (true for a signal, false for the deadline or cancellation).
/// Each wait has a version; a deadline scheduled for an earlier wait that was woken by a signal finds the version
/// changed and does nothing (a deadline racing a new wait can end that wait early, as if spuriously: every loop
/// re-reads the clock after a wait, so that costs one extra turn). Continuations run on the thread pool, never on the thread that called
/// <see cref="Set"/> (a producing thread must not end up running a sender's loop) nor on the deadline thread.
/// </remarks>
internal sealed class AsyncSignal : IValueTaskSource<bool>, IDeadlineTarget, IDisposable
{
    private const int Idle = 0;
    private const int Signaled = 1;
    private const int Waiting = 2;

    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private CancellationTokenRegistration _cancellation;
    private CancellationToken _registeredToken;
    private int _state;
    private int _version;

    /// <summary>Wakes the waiter, or makes the next wait return at once.</summary>
    public void Set()
    {
        while (true)
        {
            var state = Volatile.Read(ref _state);
            if (state == Signaled)
            {
                return;
            }

            if (state == Waiting)
            {
                Fire(true);
                return;
            }

            if (Interlocked.CompareExchange(ref _state, Signaled, Idle) == Idle)
            {
                return;
            }
        }
    }

    /// <summary>Waits for <see cref="Set"/> or until <paramref name="deadlineTicks"/> (<see cref="Stopwatch"/> ticks; <see cref="long.MaxValue"/> for none). One waiter at a time.</summary>
    /// <returns>True when signalled, false at the deadline or on cancellation.</returns>
    public ValueTask<bool> WaitAsync(long deadlineTicks, CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _state, Idle, Signaled) == Signaled)
        {
            return new ValueTask<bool>(true);
        }

        if (deadlineTicks <= Stopwatch.GetTimestamp() || cancellationToken.IsCancellationRequested)
        {
            return new ValueTask<bool>(false);
        }

        _core.Reset();
        var version = Interlocked.Increment(ref _version);
        if (Interlocked.CompareExchange(ref _state, Waiting, Idle) != Idle)
        {
            // Signalled in between.
            Volatile.Write(ref _state, Idle);
            return new ValueTask<bool>(true);
        }

        if (deadlineTicks != long.MaxValue)
        {
            DeadlineScheduler.Shared.Schedule(this, version, deadlineTicks);
        }

        if (cancellationToken.CanBeCanceled && cancellationToken != _registeredToken)
        {
            // Registered once per token (a loop's stop token), not per wait.
            _cancellation.Dispose();
            _registeredToken = cancellationToken;
            _cancellation = cancellationToken.UnsafeRegister(static s => ((AsyncSignal)s!).Fire(false), this);
        }

        return new ValueTask<bool>(this, _core.Version);
    }

    /// <summary>Waits for <see cref="Set"/> or for <paramref name="timeout"/> (<see cref="Timeout.InfiniteTimeSpan"/> for none). One waiter at a time.</summary>
    /// <returns>True when signalled, false on timeout or cancellation.</returns>
    public ValueTask<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        WaitAsync(timeout == Timeout.InfiniteTimeSpan ? long.MaxValue : Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency), cancellationToken);

    public bool GetResult(short token) => _core.GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    void IDeadlineTarget.OnDeadline(int version)
    {
        if (Volatile.Read(ref _version) == version)
        {
            Fire(false);
        }
    }

    /// <summary>Stops listening to the loop's token. A deadline still scheduled finds nobody waiting and does nothing.</summary>
    public void Dispose() => _cancellation.Dispose();

    private void Fire(bool signaled)
    {
        if (Interlocked.CompareExchange(ref _state, Idle, Waiting) == Waiting)
        {
            _core.SetResult(signaled);
        }
    }
}
