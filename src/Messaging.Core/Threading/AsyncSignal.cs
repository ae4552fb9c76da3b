using System.Threading.Tasks.Sources;

namespace Messaging.Threading;

/// <summary>
/// An auto-reset event for one waiting loop, awaited without allocating: <see cref="Set"/> from any thread wakes
/// the waiter (or is remembered until it next waits; any number of sets before a wait wake it once);
/// <see cref="WaitAsync(long, CancellationToken)"/> also returns at a deadline of its <see cref="Clock"/>: on the
/// system clock to within a fraction of a millisecond (<see cref="DeadlineScheduler"/>), on any other clock when its
/// timer fires (a fake clock: when the test advances it past the deadline).
/// </summary>
/// <remarks>
/// States: idle, signalled, waiting. <see cref="Set"/>, the deadline and cancellation race to move a waiting signal
/// back to idle; whoever wins completes the wait (true for a signal, false for the deadline or cancellation).
/// Each wait has a version; a deadline scheduled for an earlier wait that was woken by a signal finds the version
/// changed and does nothing (a deadline racing a new wait can end that wait early, as if spuriously: every loop
/// re-reads the clock after a wait, so that costs one extra turn). Continuations run on the thread pool, never on the thread that called
/// <see cref="Set"/> (a producing thread must not end up running a sender's loop) nor on the deadline thread — except
/// through <see cref="SetInline"/>, which one of our loops uses to run another at once.
/// </remarks>
internal sealed class AsyncSignal : IValueTaskSource<bool>, IDeadlineTarget, IDisposable
{
    private const int Idle = 0;
    private const int Signaled = 1;
    private const int Waiting = 2;

    private readonly Clock _clock;
    private static readonly Action<object?> ResumeWaiter = static state => ((AsyncSignal)state!).Resume();

    // The core calls Resume synchronously from SetResult; Resume decides where the waiter runs (see Fire).
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = false };
    private Action<object?>? _continuation;
    private object? _continuationState;
    private bool _resumeInline;
    private CancellationTokenRegistration _cancellation;
    private CancellationToken _registeredToken;
    private ITimer? _timer;
    private int _timerVersion;
    private int _state;
    private int _version;

    /// <summary>A signal whose deadlines count on the system clock.</summary>
    public AsyncSignal()
        : this(Clock.System)
    {
    }

    /// <summary>A signal whose deadlines count on <paramref name="clock"/>.</summary>
    public AsyncSignal(Clock clock) => _clock = clock;

    /// <summary>Wakes the waiter (on the thread pool), or makes the next wait return at once.</summary>
    public void Set() => Signal(inline: false);

    /// <summary>
    /// Wakes the waiter on this thread — it runs until its next await before this returns — or makes its next wait
    /// return at once. Only for one loop of a component waking another of the same component (a producer's response
    /// loop waking its send loop): it saves the thread-pool hand-off, which on a small machine costs more than the work
    /// woken. Never from a caller's thread, the deadline thread or a connection's read loop.
    /// </summary>
    public void SetInline() => Signal(inline: true);

    /// <summary>
    /// Makes the current wait end by <paramref name="deadlineTicks"/> at the latest (a timestamp of this signal's
    /// <see cref="Clock"/>), without waking the waiter before then; when no wait is in progress it acts as
    /// <see cref="Set"/> (the loop is running and may have looked before the caller's change). For a change the loop
    /// need only act on by a time — a producer batch that is ready at its linger — so the loop is not woken now just
    /// to compute that time. The waiter may still end earlier for any other reason; it re-reads its state then.
    /// </summary>
    public void WakeBy(long deadlineTicks)
    {
        if (_clock.IsSystem && Volatile.Read(ref _state) == Waiting)
        {
            // The version read here is the waiting one or a later one; either way the wait it names began after the
            // caller's change, or is still pending and ends by this deadline. An entry for a wait that ended first is
            // dropped unfired (IsPending).
            DeadlineScheduler.Shared.Schedule(this, Volatile.Read(ref _version), deadlineTicks);
            return;
        }

        Signal(inline: false);
    }

    private void Signal(bool inline)
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
                Fire(true, inline);
                return;
            }

            if (Interlocked.CompareExchange(ref _state, Signaled, Idle) == Idle)
            {
                return;
            }
        }
    }

    /// <summary>Waits for <see cref="Set"/> or until <paramref name="deadlineTicks"/> (a timestamp of this signal's <see cref="Clock"/>; <see cref="long.MaxValue"/> for none). One waiter at a time.</summary>
    /// <returns>True when signalled, false at the deadline or on cancellation.</returns>
    public ValueTask<bool> WaitAsync(long deadlineTicks, CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _state, Idle, Signaled) == Signaled)
        {
            return new ValueTask<bool>(true);
        }

        var now = _clock.Now;
        if (deadlineTicks <= now || cancellationToken.IsCancellationRequested)
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
            if (_clock.IsSystem)
            {
                DeadlineScheduler.Shared.Schedule(this, version, deadlineTicks);
            }
            else
            {
                ScheduleOnTimer(version, deadlineTicks, now);
            }
        }

        if (cancellationToken.CanBeCanceled && cancellationToken != _registeredToken)
        {
            // Registered once per token (a loop's stop token), not per wait.
            _cancellation.Dispose();
            _registeredToken = cancellationToken;
            _cancellation = cancellationToken.UnsafeRegister(static s => ((AsyncSignal)s!).Fire(false, inline: false), this);
        }

        return new ValueTask<bool>(this, _core.Version);
    }

    /// <summary>Waits for <see cref="Set"/> or for <paramref name="timeout"/> (<see cref="Timeout.InfiniteTimeSpan"/> for none). One waiter at a time.</summary>
    /// <returns>True when signalled, false on timeout or cancellation.</returns>
    public ValueTask<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        WaitAsync(_clock.After(timeout), cancellationToken);

    public bool GetResult(short token) => _core.GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _core.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
    {
        // One waiter at a time: the fields are read back by Resume, which the core orders after this registration.
        // Our loops await with ConfigureAwait(false); a captured context would only see Resume, which then queues the
        // continuation to the thread pool.
        _continuation = continuation;
        _continuationState = state;
        _core.OnCompleted(ResumeWaiter, this, token, flags);
    }

    // A wait's own deadline entry is scheduled after the wait became Waiting with its version (WaitAsync), and a
    // version is never reused: once the version moved on or the state left Waiting, that wait is over for good. A
    // WakeBy entry may name a wait that is not Waiting yet; dropping it is safe, as WakeBy explains.
    bool IDeadlineTarget.IsPending(int version) =>
        Volatile.Read(ref _version) == version && Volatile.Read(ref _state) == Waiting;

    void IDeadlineTarget.OnDeadline(int version)
    {
        if (Volatile.Read(ref _version) == version)
        {
            Fire(false, inline: false);
        }
    }

    /// <summary>Stops listening to the loop's token. A deadline still scheduled finds nobody waiting and does nothing.</summary>
    public void Dispose()
    {
        _cancellation.Dispose();
        Interlocked.Exchange(ref _timer, null)?.Dispose();
    }

    /// <summary>
    /// A deadline on a clock other than the system's: one timer of that clock per signal, re-armed per wait (only
    /// one wait is outstanding; re-arming replaces the earlier wait's deadline). A firing that races the re-arm reads
    /// the new wait's version and may end it early: the spurious-looking early end every loop allows (it re-reads the
    /// clock after a wait).
    /// </summary>
    /// <remarks>
    /// A timer's due time counts from the clock as it reads when the timer is armed, but the due time was worked out
    /// from an earlier reading (<paramref name="now"/>). A clock moved by hand (a test's fake clock) can jump in
    /// between: the timer would then be late by the whole jump — for good, if nothing moves the clock again (a wait
    /// for 10 minutes armed just as the clock jumped 9 minutes would need it to reach 19). So the clock is read again
    /// after arming, and the timer re-armed from that reading until the clock held still across the arming; a move of
    /// under a millisecond is a running clock's own drift and is let be.
    /// </remarks>
    private void ScheduleOnTimer(int version, long deadlineTicks, long now)
    {
        var timer = _timer ??= _clock.Provider.CreateTimer(static s => ((AsyncSignal)s!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        Volatile.Write(ref _timerVersion, version);
        while (true)
        {
            if (deadlineTicks <= now)
            {
                ((IDeadlineTarget)this).OnDeadline(version);
                return;
            }

            // A timer waits at most ~49.7 days: a deadline further out (a setting of months) ends the wait there, early,
            // which every loop allows, where the timer would throw.
            var due = Clock.TimerStep(_clock.ToTimeSpan(deadlineTicks - now));
            timer.Change(due < TimeSpan.FromTicks(1) ? TimeSpan.FromTicks(1) : due, Timeout.InfiniteTimeSpan);
            if (!_clock.JumpedSince(ref now))
            {
                return;
            }
        }
    }

    private void OnTimer() => ((IDeadlineTarget)this).OnDeadline(Volatile.Read(ref _timerVersion));

    private void Fire(bool signaled, bool inline)
    {
        if (Interlocked.CompareExchange(ref _state, Idle, Waiting) == Waiting)
        {
            // Only the winner of the state change writes this, and only until the waiter waits again.
            _resumeInline = inline;
            _core.SetResult(signaled);
        }
    }

    /// <summary>
    /// Runs the waiter's continuation: here, when <see cref="SetInline"/> completed the wait on this very call; on the
    /// thread pool otherwise. A waiter that registers after the wait completed is queued to the thread pool by the
    /// core itself, and runs this there.
    /// </summary>
    private void Resume()
    {
        var continuation = _continuation!;
        var state = _continuationState;
        _continuation = null;
        _continuationState = null;
        if (_resumeInline)
        {
            continuation(state);
        }
        else
        {
            ThreadPool.UnsafeQueueUserWorkItem(continuation, state, preferLocal: true);
        }
    }
}
