using System.Diagnostics;
using System.Threading.Tasks.Sources;

namespace Messaging.Producer;

/// <summary>
/// An auto-reset event for one waiting loop, awaited without allocating: <see cref="Set"/> from any thread wakes
/// the waiter (or is remembered until it next waits); <see cref="WaitAsync"/> also returns at a deadline.
/// </summary>
/// <remarks>
/// States: idle, signalled, waiting. <see cref="Set"/> and the deadline timer race to move a waiting signal back to
/// idle; whoever wins completes the wait (true for a signal, false for the deadline). Continuations run on the
/// thread pool, never on the thread that called <see cref="Set"/> (a producing thread must not end up running a
/// sender's loop). One timer per signal, re-armed per wait.
/// </remarks>
internal sealed class AsyncSignal : IValueTaskSource<bool>, IDisposable
{
    private const int Idle = 0;
    private const int Signaled = 1;
    private const int Waiting = 2;

    private readonly Timer _timer;
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private CancellationTokenRegistration _cancellation;
    private int _state;

    public AsyncSignal()
    {
        _timer = new Timer(static s => ((AsyncSignal)s!).Fire(false), this, Timeout.Infinite, Timeout.Infinite);
    }

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

        var now = Stopwatch.GetTimestamp();
        if (deadlineTicks <= now || cancellationToken.IsCancellationRequested)
        {
            return new ValueTask<bool>(false);
        }

        _core.Reset();
        if (Interlocked.CompareExchange(ref _state, Waiting, Idle) != Idle)
        {
            // Signalled in between.
            Volatile.Write(ref _state, Idle);
            return new ValueTask<bool>(true);
        }

        if (deadlineTicks != long.MaxValue)
        {
            var dueMs = Math.Max(1, (long)Math.Ceiling((deadlineTicks - now) * 1000.0 / Stopwatch.Frequency));
            _timer.Change(Math.Min(dueMs, int.MaxValue - 1), Timeout.Infinite);
        }

        if (cancellationToken.CanBeCanceled && _cancellation == default)
        {
            // Registered once per token (the loop's stop token), not per wait.
            _cancellation = cancellationToken.UnsafeRegister(static s => ((AsyncSignal)s!).Fire(false), this);
        }

        return new ValueTask<bool>(this, _core.Version);
    }

    public bool GetResult(short token) => _core.GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    public void Dispose()
    {
        _cancellation.Dispose();
        _timer.Dispose();
    }

    private void Fire(bool signaled)
    {
        if (Interlocked.CompareExchange(ref _state, Idle, Waiting) == Waiting)
        {
            _core.SetResult(signaled);
        }
    }
}
