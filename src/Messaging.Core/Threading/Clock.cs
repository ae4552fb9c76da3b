using System.Diagnostics;

namespace Messaging.Threading;

/// <summary>
/// Time as the client reads it: timestamps from one <see cref="TimeProvider"/> (the client options'), and the one
/// place that converts between <see cref="TimeSpan"/> and timestamp ticks. Every timeout, linger, backoff and
/// deadline of a client counts in this clock's ticks.
/// </summary>
/// <remarks>
/// For <see cref="TimeProvider.System"/> a timestamp is <see cref="Stopwatch.GetTimestamp"/>, read directly (no
/// virtual call on the paths that read the time per batch or per request), and waits for a deadline go through
/// <see cref="DeadlineScheduler"/> (sub-millisecond: linger decides latency). Any other provider (a fake clock in
/// tests) is asked for every timestamp, and its timers end the waits: advancing a fake clock fires them.
/// </remarks>
internal sealed class Clock
{
    /// <summary>The system clock.</summary>
    public static readonly Clock System = new(TimeProvider.System);

    private readonly double _ticksPerTimeSpanTick;
    private readonly double _timeSpanTicksPerTick;
    private readonly long _oneMillisecond;

    public Clock(TimeProvider provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        Provider = provider;
        IsSystem = ReferenceEquals(provider, TimeProvider.System);
        Frequency = IsSystem ? Stopwatch.Frequency : provider.TimestampFrequency;
        _ticksPerTimeSpanTick = (double)Frequency / TimeSpan.TicksPerSecond;
        _timeSpanTicksPerTick = (double)TimeSpan.TicksPerSecond / Frequency;
        _oneMillisecond = Math.Max(1, Frequency / 1000);
    }

    /// <summary>Where the time comes from (for timers, delays and timeouts built on it).</summary>
    public TimeProvider Provider { get; }

    /// <summary>True for <see cref="TimeProvider.System"/>: timestamps are <see cref="Stopwatch"/> ticks, deadlines fire through <see cref="DeadlineScheduler"/>.</summary>
    public bool IsSystem { get; }

    /// <summary>Timestamp ticks per second.</summary>
    public long Frequency { get; }

    /// <summary>The current timestamp (ticks of <see cref="Frequency"/>; only differences mean anything).</summary>
    public long Now => IsSystem ? Stopwatch.GetTimestamp() : Provider.GetTimestamp();

    /// <summary>Converts a duration to timestamp ticks (saturating; <see cref="Timeout.InfiniteTimeSpan"/> and anything huge is <see cref="long.MaxValue"/>).</summary>
    public long ToTicks(TimeSpan span)
    {
        if (span == Timeout.InfiniteTimeSpan)
        {
            return long.MaxValue;
        }

        var ticks = span.Ticks * _ticksPerTimeSpanTick;
        return ticks >= long.MaxValue ? long.MaxValue : ticks <= long.MinValue ? long.MinValue : (long)ticks;
    }

    /// <summary>Converts timestamp ticks to a duration.</summary>
    public TimeSpan ToTimeSpan(long ticks)
    {
        var spanTicks = ticks * _timeSpanTicksPerTick;
        return spanTicks >= TimeSpan.MaxValue.Ticks ? TimeSpan.MaxValue : spanTicks <= TimeSpan.MinValue.Ticks ? TimeSpan.MinValue : TimeSpan.FromTicks((long)spanTicks);
    }

    /// <summary>The timestamp <paramref name="span"/> from now (<see cref="long.MaxValue"/> for an infinite or huge span).</summary>
    public long After(TimeSpan span) => After(Now, span);

    /// <summary>The timestamp <paramref name="span"/> after <paramref name="start"/> (saturating at <see cref="long.MaxValue"/>).</summary>
    public long After(long start, TimeSpan span)
    {
        return Add(start, ToTicks(span));
    }

    /// <summary>
    /// The timestamp <paramref name="ticks"/> after <paramref name="start"/>, saturating at <see cref="long.MaxValue"/>:
    /// a duration of TimeSpan.MaxValue ("no limit") is <see cref="long.MaxValue"/> ticks, and adding it to a timestamp
    /// would wrap to a deadline long past.
    /// </summary>
    public static long Add(long start, long ticks) => ticks > 0 && start > long.MaxValue - ticks ? long.MaxValue : start + ticks;

    /// <summary>
    /// <paramref name="a"/> + <paramref name="b"/>, saturating at <see cref="TimeSpan.MaxValue"/>: a setting of
    /// TimeSpan.MaxValue ("no limit") plus another stays "no limit" instead of overflowing.
    /// </summary>
    public static TimeSpan Sum(TimeSpan a, TimeSpan b) => b > TimeSpan.Zero && a > TimeSpan.MaxValue - b ? TimeSpan.MaxValue : a + b;

    /// <summary>How long from now until <paramref name="deadline"/> (negative once it passed).</summary>
    public TimeSpan Until(long deadline) => ToTimeSpan(deadline - Now);

    /// <summary>How long since <paramref name="start"/>.</summary>
    public TimeSpan Since(long start) => ToTimeSpan(Now - start);

    /// <summary>How long from <paramref name="start"/> to <paramref name="end"/>.</summary>
    public TimeSpan Between(long start, long end) => ToTimeSpan(end - start);

    /// <summary>Blocks until <paramref name="signal"/> is set or <paramref name="timeout"/> passes on this clock (never, for one longer than a timer can wait); true if it was set.</summary>
    public bool Wait(ManualResetEventSlim signal, TimeSpan timeout)
    {
        timeout = TimerDelay(timeout);
        if (timeout == Timeout.InfiniteTimeSpan)
        {
            return signal.Wait(Timeout.InfiniteTimeSpan);
        }

        if (IsSystem)
        {
            // An event waits at most int.MaxValue ms at a time; a timer's longest wait is about twice that.
            var deadline = After(timeout);
            while (timeout > MaxEventWait)
            {
                if (signal.Wait(MaxEventWait))
                {
                    return true;
                }

                timeout = Until(deadline);
            }

            return signal.Wait(timeout < TimeSpan.Zero ? TimeSpan.Zero : timeout);
        }

        using var expiry = new CancellationTokenSource(timeout, Provider);
        try
        {
            return signal.Wait(Timeout.Infinite, expiry.Token);
        }
        catch (OperationCanceledException) when (expiry.IsCancellationRequested)
        {
            return signal.IsSet;
        }
    }

    /// <summary>A source cancelled after <paramref name="delay"/> on this clock (never, for a delay longer than a timer can wait).</summary>
    public CancellationTokenSource CancelAfter(TimeSpan delay) => new(TimerDelay(delay), Provider);

    /// <summary>
    /// <paramref name="delay"/> as a timer takes it: one longer than a timer can wait (about 49 days; a setting of
    /// TimeSpan.MaxValue for "no limit") is <see cref="Timeout.InfiniteTimeSpan"/>, where a timer would throw.
    /// </summary>
    public static TimeSpan TimerDelay(TimeSpan delay) => delay > MaxTimerDelay ? Timeout.InfiniteTimeSpan : delay;

    /// <summary><paramref name="delay"/>, at most as long as a timer can wait (about 49.7 days): one step towards a further deadline.</summary>
    public static TimeSpan TimerStep(TimeSpan delay) => delay > MaxTimerDelay ? MaxTimerDelay : delay;

    private static readonly TimeSpan MaxTimerDelay = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    private static readonly TimeSpan MaxEventWait = TimeSpan.FromMilliseconds(int.MaxValue);

    /// <summary>Completes after <paramref name="delay"/> on this clock (never, for a delay longer than a timer can wait: only <paramref name="cancellationToken"/> ends it).</summary>
    public Task Delay(TimeSpan delay, CancellationToken cancellationToken) => Task.Delay(TimerDelay(delay), Provider, cancellationToken);

    /// <summary>Completes once this clock reaches <paramref name="deadline"/> (a timestamp of it; one further than a timer can wait, <see cref="long.MaxValue"/> included, is never reached).</summary>
    /// <remarks>
    /// Not <see cref="Delay"/> of the time left: a delay counts from the clock as it reads when its timer is made, and a
    /// clock moved by hand (a test's fake clock) can jump between reading the time left and that moment — the delay
    /// then ends late by the whole jump, or never if the clock does not move again. So the clock is read again once
    /// the delay is armed, and the delay made again from that reading until the clock held still across the arming (a
    /// move of under a millisecond is a running clock's own drift). The system clock needs none of this.
    /// </remarks>
    public async Task DelayUntil(long deadline, CancellationToken cancellationToken)
    {
        var now = Now;
        while (true)
        {
            if (now >= deadline)
            {
                return;
            }

            using var step = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(TimerDelay(ToTimeSpan(deadline - now)), Provider, step.Token); // a deadline too far for a timer: never
            if (IsSystem || !JumpedSince(ref now))
            {
                await delay.ConfigureAwait(false);
                return;
            }

            // The clock moved while the delay was armed: drop it and arm again from the new reading.
            await step.CancelAsync().ConfigureAwait(false);
            await delay.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>
    /// Whether the clock moved a millisecond or more since <paramref name="reading"/>, which becomes the clock's time
    /// now: after arming a timer from a reading, true says the timer counts from a later time than the reading (a clock
    /// moved by hand jumped in between) and must be armed again. Less is a running clock's own drift.
    /// </summary>
    public bool JumpedSince(ref long reading)
    {
        var now = Now;
        var jumped = now - reading >= _oneMillisecond;
        reading = now;
        return jumped;
    }
}
