using System.Diagnostics;
using Messaging.Core.Tests.Support;
using Messaging.Threading;
using Microsoft.Extensions.Time.Testing;

namespace Messaging.Core.Tests.Threading;

public sealed class ClockTests
{
    [Fact]
    public async Task DelayUntil_on_a_fake_clock_that_jumps_while_the_delay_is_armed_still_ends_at_the_deadline()
    {
        var time = new FakeTimeProvider();
        var jumping = new JumpingClock(time, TimeSpan.FromMinutes(9));
        var clock = new Clock(jumping);
        var delay = clock.DelayUntil(clock.After(TimeSpan.FromMinutes(10)), TestContext.Current.CancellationToken);
        Assert.True(jumping.Jumped);
        Assert.False(delay.IsCompleted, "the delay ended before the fake clock reached its deadline");

        time.Advance(TimeSpan.FromMinutes(1)); // a delay armed for the 10 minutes left before the jump would end at 19
        await delay.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
    }

    [Fact]
    public void The_system_clock_counts_in_stopwatch_ticks()
    {
        var clock = Clock.System;
        Assert.True(clock.IsSystem);
        Assert.Equal(Stopwatch.Frequency, clock.Frequency);
        Assert.Equal(Stopwatch.Frequency, clock.ToTicks(TimeSpan.FromSeconds(1)));
        Assert.Equal(Stopwatch.Frequency / 1000 * 5, clock.ToTicks(TimeSpan.FromMilliseconds(5)));
        Assert.Equal(TimeSpan.FromMilliseconds(250), clock.ToTimeSpan(Stopwatch.Frequency / 4));
        var before = Stopwatch.GetTimestamp();
        var now = clock.Now;
        Assert.InRange(now, before, Stopwatch.GetTimestamp());
    }

    [Fact]
    public void Another_provider_is_read_for_every_timestamp_at_its_own_frequency()
    {
        var time = new FakeTimeProvider();
        var clock = new Clock(time);
        Assert.False(clock.IsSystem);
        Assert.Equal(time.TimestampFrequency, clock.Frequency);
        var start = clock.Now;
        time.Advance(TimeSpan.FromMilliseconds(1500));
        Assert.Equal(TimeSpan.FromMilliseconds(1500), clock.Since(start));
        Assert.Equal(clock.ToTicks(TimeSpan.FromMilliseconds(1500)), clock.Now - start);
        var deadline = clock.After(TimeSpan.FromSeconds(2));
        time.Advance(TimeSpan.FromSeconds(0.5));
        Assert.Equal(TimeSpan.FromSeconds(1.5), clock.Until(deadline));
        Assert.Equal(TimeSpan.FromSeconds(2), clock.Between(start, deadline - clock.ToTicks(TimeSpan.FromSeconds(1.5))));
    }

    [Fact]
    public void Infinite_and_huge_spans_saturate_instead_of_overflowing()
    {
        var clock = Clock.System;
        Assert.Equal(long.MaxValue, clock.ToTicks(Timeout.InfiniteTimeSpan));
        Assert.Equal(long.MaxValue, clock.After(Timeout.InfiniteTimeSpan));
        Assert.Equal(long.MaxValue, clock.After(TimeSpan.MaxValue));
        Assert.Equal(long.MaxValue, clock.After(long.MaxValue - 10, TimeSpan.FromSeconds(1)));
        Assert.Equal(long.MaxValue, Clock.Add(clock.Now, clock.ToTicks(TimeSpan.MaxValue)));
        Assert.Equal(long.MaxValue, Clock.Add(long.MaxValue - 10, 11));
        Assert.Equal(long.MaxValue - 1, Clock.Add(long.MaxValue - 10, 9));
        Assert.Equal(90, Clock.Add(100, -10));
        Assert.True(clock.ToTimeSpan(long.MaxValue) > TimeSpan.FromDays(100 * 365), "the longest span converts without overflowing");
        Assert.Equal(TimeSpan.MaxValue, Clock.Sum(TimeSpan.MaxValue, TimeSpan.FromSeconds(30)));
        Assert.Equal(TimeSpan.MaxValue, Clock.Sum(TimeSpan.FromSeconds(30), TimeSpan.MaxValue));
        Assert.Equal(TimeSpan.MaxValue - TimeSpan.FromSeconds(1), Clock.Sum(TimeSpan.MaxValue, TimeSpan.FromSeconds(-1)));
        Assert.Equal(TimeSpan.FromSeconds(29), Clock.Sum(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(-1)));
    }

    [Fact]
    public async Task A_blocking_wait_on_a_fake_clock_ends_when_the_clock_passes_its_timeout_or_when_signalled()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new TimerCountingTimeProvider();
        var clock = new Clock(time);
        using var never = new ManualResetEventSlim();
        var waiting = Task.Run(() => clock.Wait(never, TimeSpan.FromHours(1)), ct);
        Assert.True(time.WaitForTimers(1, TimeSpan.FromSeconds(10)), "the wait armed no timer on the fake clock");
        time.Advance(TimeSpan.FromMinutes(59));
        Assert.False(waiting.IsCompleted, "the wait ended before its timeout on the fake clock");
        time.Advance(TimeSpan.FromMinutes(2));
        Assert.False(await waiting.WaitAsync(TimeSpan.FromSeconds(10), ct)); // a TimeoutException here: it did not end once the fake clock passed its timeout

        using var set = new ManualResetEventSlim();
        var signalled = Task.Run(() => clock.Wait(set, TimeSpan.FromHours(1)), ct);
        set.Set();
        Assert.True(await signalled.WaitAsync(TimeSpan.FromSeconds(10), ct));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_blocking_wait_longer_than_a_timer_or_an_event_can_wait_ends_only_when_signalled(bool system)
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = system ? Clock.System : new Clock(new FakeTimeProvider());
        foreach (var timeout in new[] { TimeSpan.MaxValue, TimeSpan.FromDays(30) }) // beyond a timer's ~49.7 days; beyond an event's ~24.8
        {
            using var signal = new ManualResetEventSlim();
            var waiting = Task.Run(() => clock.Wait(signal, timeout), ct);
            var delay = clock.Delay(timeout, ct);
            Assert.False(waiting.IsCompleted, waiting.Exception?.ToString());
            Assert.False(delay.IsCompleted, delay.Exception?.ToString());
            signal.Set();
            Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(10), ct), "waited " + timeout);
        }
    }

    /// <summary>A fake clock that says when timers were armed on it, so a test advances it only once a wait is in place.</summary>
    private sealed class TimerCountingTimeProvider : FakeTimeProvider
    {
        private int _created;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            Interlocked.Increment(ref _created);
            return timer;
        }

        public bool WaitForTimers(int count, TimeSpan timeout) => SpinWait.SpinUntil(() => Volatile.Read(ref _created) >= count, timeout);
    }
}
