using System.Diagnostics;
using Messaging.Core.Tests.Support;
using Messaging.Threading;
using Microsoft.Extensions.Time.Testing;

namespace Messaging.Core.Tests.Threading;

public sealed class AsyncSignalTests
{
    private static long In(TimeSpan span) => Stopwatch.GetTimestamp() + (long)(span.TotalSeconds * Stopwatch.Frequency);

    [Fact]
    public async Task A_set_before_the_wait_is_remembered_once()
    {
        using var signal = new AsyncSignal();
        signal.Set();
        signal.Set();
        Assert.True(await signal.WaitAsync(long.MaxValue, TestContext.Current.CancellationToken));
        Assert.False(await signal.WaitAsync(In(TimeSpan.FromMilliseconds(20)), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_wait_returns_false_at_its_deadline_and_not_before()
    {
        using var signal = new AsyncSignal();
        var deadline = In(TimeSpan.FromMilliseconds(30));
        Assert.False(await signal.WaitAsync(deadline, TestContext.Current.CancellationToken));
        Assert.True(Stopwatch.GetTimestamp() >= deadline, "the wait ended before its deadline");
    }

    [Fact]
    public async Task A_set_from_another_thread_wakes_the_waiter()
    {
        using var signal = new AsyncSignal();
        var wait = signal.WaitAsync(In(TimeSpan.FromSeconds(30)), TestContext.Current.CancellationToken).AsTask();
        await Task.Run(signal.Set, TestContext.Current.CancellationToken);
        Assert.True(await wait.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task SetInline_runs_the_waiter_on_the_setting_thread_before_it_returns()
    {
        using var signal = new AsyncSignal();
        var resumedOn = 0;
        var loop = WaitThenRecord();
        Assert.False(loop.IsCompleted); // waiting

        signal.SetInline();

        Assert.True(loop.IsCompleted, "the waiter did not run before SetInline returned");
        Assert.Equal(Environment.CurrentManagedThreadId, resumedOn);
        Assert.True(await loop);

        async Task<bool> WaitThenRecord()
        {
            var signalled = await signal.WaitAsync(In(TimeSpan.FromSeconds(30)), TestContext.Current.CancellationToken).ConfigureAwait(false);
            resumedOn = Environment.CurrentManagedThreadId;
            return signalled;
        }
    }

    [Fact]
    public async Task Set_never_runs_the_waiter_on_the_setting_thread()
    {
        using var signal = new AsyncSignal();
        using var resumed = new ManualResetEventSlim();
        var resumedOn = 0;
        var loop = WaitThenRecord();

        signal.Set();
        var setter = Environment.CurrentManagedThreadId;
        Assert.True(resumed.Wait(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken)); // this thread is held here: the waiter must run elsewhere

        Assert.NotEqual(setter, resumedOn);
        Assert.True(await loop);

        async Task<bool> WaitThenRecord()
        {
            var signalled = await signal.WaitAsync(In(TimeSpan.FromSeconds(30)), TestContext.Current.CancellationToken).ConfigureAwait(false);
            resumedOn = Environment.CurrentManagedThreadId;
            resumed.Set();
            return signalled;
        }
    }

    [Fact]
    public async Task WakeBy_ends_a_wait_at_the_given_time_and_not_before()
    {
        using var signal = new AsyncSignal();
        var wait = signal.WaitAsync(In(TimeSpan.FromSeconds(30)), TestContext.Current.CancellationToken).AsTask();
        var by = In(TimeSpan.FromMilliseconds(50));
        signal.WakeBy(by);

        Assert.False(await wait.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken)); // a deadline, not a signal
        Assert.True(Stopwatch.GetTimestamp() >= by, "the wait ended before the time it was given");
    }

    [Fact]
    public async Task WakeBy_with_no_wait_in_progress_makes_the_next_wait_return_at_once()
    {
        using var signal = new AsyncSignal();
        signal.WakeBy(In(TimeSpan.FromSeconds(30)));
        Assert.True(await signal.WaitAsync(In(TimeSpan.FromSeconds(30)), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_WakeBy_time_for_a_wait_a_set_ended_does_not_end_the_next_wait()
    {
        using var signal = new AsyncSignal();
        var first = signal.WaitAsync(In(TimeSpan.FromSeconds(30)), TestContext.Current.CancellationToken).AsTask();
        signal.WakeBy(In(TimeSpan.FromMilliseconds(30)));
        signal.Set();
        Assert.True(await first.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));

        var deadline = In(TimeSpan.FromMilliseconds(300));
        Assert.False(await signal.WaitAsync(deadline, TestContext.Current.CancellationToken));
        Assert.True(Stopwatch.GetTimestamp() >= deadline, "the earlier wait's WakeBy time ended this wait");
    }

    [Fact]
    public async Task Cancellation_ends_the_wait_with_false()
    {
        using var signal = new AsyncSignal();
        using var cts = new CancellationTokenSource();
        var wait = signal.WaitAsync(long.MaxValue, cts.Token).AsTask();
        await cts.CancelAsync();
        Assert.False(await wait.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task The_deadline_of_a_wait_woken_by_a_set_does_not_end_the_next_wait()
    {
        using var signal = new AsyncSignal();
        var firstDeadline = In(TimeSpan.FromMilliseconds(50));
        var first = signal.WaitAsync(firstDeadline, TestContext.Current.CancellationToken).AsTask();
        signal.Set();
        Assert.True(await first);

        // The second wait runs past the first one's deadline: the stale deadline must find its version changed.
        var secondDeadline = In(TimeSpan.FromMilliseconds(400));
        Assert.False(await signal.WaitAsync(secondDeadline, TestContext.Current.CancellationToken));
        Assert.True(Stopwatch.GetTimestamp() >= secondDeadline, "the first wait's deadline ended the second wait");
    }

    [Fact]
    public async Task Many_signals_with_interleaved_deadlines_each_fire_at_or_after_their_own()
    {
        var signals = new AsyncSignal[50];
        var waits = new Task<(bool Signaled, long Deadline, long Ended)>[signals.Length];
        for (var i = 0; i < signals.Length; i++)
        {
            signals[i] = new AsyncSignal();
            var deadline = In(TimeSpan.FromMilliseconds(5 + ((i * 37) % 60)));
            waits[i] = WaitAndTime(signals[i], deadline);
        }

        var results = await Task.WhenAll(waits).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        foreach (var (signaled, deadline, ended) in results)
        {
            Assert.False(signaled);
            Assert.True(ended >= deadline);
        }

        foreach (var signal in signals)
        {
            signal.Dispose();
        }

        static async Task<(bool, long, long)> WaitAndTime(AsyncSignal signal, long deadline)
        {
            var signaled = await signal.WaitAsync(deadline, CancellationToken.None);
            return (signaled, deadline, Stopwatch.GetTimestamp());
        }
    }

    [Fact]
    public async Task On_a_fake_clock_a_wait_ends_when_the_clock_passes_its_deadline_and_not_before()
    {
        var time = new FakeTimeProvider();
        var clock = new Clock(time);
        using var signal = new AsyncSignal(clock);
        var wait = signal.WaitAsync(clock.After(TimeSpan.FromMinutes(10)), TestContext.Current.CancellationToken).AsTask();
        time.Advance(TimeSpan.FromMinutes(9));
        Assert.False(wait.IsCompleted, "the wait ended before the fake clock reached its deadline");
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.False(await wait.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task On_a_fake_clock_the_deadline_of_a_wait_woken_by_a_set_does_not_end_the_next_wait()
    {
        var time = new FakeTimeProvider();
        var clock = new Clock(time);
        using var signal = new AsyncSignal(clock);
        var first = signal.WaitAsync(clock.After(TimeSpan.FromSeconds(1)), TestContext.Current.CancellationToken).AsTask();
        signal.Set();
        Assert.True(await first.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));

        var second = signal.WaitAsync(clock.After(TimeSpan.FromSeconds(5)), TestContext.Current.CancellationToken).AsTask();
        time.Advance(TimeSpan.FromSeconds(2)); // past the first wait's deadline
        Assert.False(second.IsCompleted, "the first wait's deadline ended the second wait");
        time.Advance(TimeSpan.FromSeconds(3));
        Assert.False(await second.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task On_a_fake_clock_a_wait_armed_while_the_clock_jumps_still_ends_at_its_deadline()
    {
        // The clock jumps 9 minutes after the wait read it and before its timer is armed (another thread advancing a
        // test's clock): armed for the 10 minutes the wait computed, the timer would be due at minute 19.
        var time = new FakeTimeProvider();
        var jumping = new JumpingClock(time, TimeSpan.FromMinutes(9));
        var clock = new Clock(jumping);
        using var signal = new AsyncSignal(clock);
        var wait = signal.WaitAsync(clock.After(TimeSpan.FromMinutes(10)), TestContext.Current.CancellationToken).AsTask();
        Assert.True(jumping.Jumped);
        Assert.False(wait.IsCompleted, "the wait ended before the fake clock reached its deadline");

        time.Advance(TimeSpan.FromMinutes(1));
        Assert.False(await wait.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_timeout_wait_counts_on_the_signals_clock()
    {
        var time = new FakeTimeProvider();
        using var signal = new AsyncSignal(new Clock(time));
        var wait = signal.WaitAsync(TimeSpan.FromHours(1), TestContext.Current.CancellationToken).AsTask();
        time.Advance(TimeSpan.FromMinutes(59));
        Assert.False(wait.IsCompleted);
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.False(await wait.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_timeout_wait_longer_than_a_timer_can_wait_on_another_clock_ends_by_its_deadline()
    {
        // A setting of 60 days (a metadata max age, say) on a clock other than the system's: its timer refuses the due time.
        var time = new FakeTimeProvider();
        using var signal = new AsyncSignal(new Clock(time));
        var wait = signal.WaitAsync(TimeSpan.FromDays(60), TestContext.Current.CancellationToken).AsTask();
        Assert.False(wait.IsCompleted, wait.Exception?.ToString());
        time.Advance(TimeSpan.FromDays(60));
        Assert.False(await wait.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Signals_set_before_a_wait_wake_it_once_and_the_next_wait_times_out()
    {
        using var signal = new AsyncSignal();
        signal.Set();
        signal.Set();

        Assert.True(await signal.WaitAsync(Timeout.InfiniteTimeSpan, TestContext.Current.CancellationToken));
        Assert.False(await signal.WaitAsync(TimeSpan.Zero, TestContext.Current.CancellationToken));
    }
}
