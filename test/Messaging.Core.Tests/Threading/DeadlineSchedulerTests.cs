using System.Diagnostics;
using Messaging.Threading;

namespace Messaging.Core.Tests.Threading;

public sealed class DeadlineSchedulerTests
{
    private static long In(TimeSpan span) => Stopwatch.GetTimestamp() + (long)(span.TotalSeconds * Stopwatch.Frequency);

    [Fact]
    public async Task A_pending_deadline_fires_at_or_after_its_time()
    {
        var scheduler = new DeadlineScheduler();
        var target = new Target(pending: true);
        var deadline = In(TimeSpan.FromMilliseconds(20));
        scheduler.Schedule(target, 7, deadline);

        Assert.Equal(7, await target.Fired.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
        Assert.True(target.FiredAt >= deadline, "fired before its deadline");
    }

    [Fact]
    public async Task An_entry_whose_wait_ended_is_dropped_when_it_is_the_earliest_not_at_its_time()
    {
        var scheduler = new DeadlineScheduler();
        var stale = new Target(pending: false); // a wait a signal ended long before its deadline
        var live = new Target(pending: true);
        scheduler.Schedule(stale, 1, In(TimeSpan.FromMinutes(10)));
        scheduler.Schedule(live, 2, In(TimeSpan.FromMilliseconds(20)));

        await live.Fired.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        // The stale entry became the earliest when the live one fired: it goes at once, ten minutes early, unfired.
        var waited = Stopwatch.StartNew();
        while (scheduler.Count != 0 && waited.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(1, TestContext.Current.CancellationToken);
        }

        Assert.Equal(0, scheduler.Count);
        Assert.Equal(0, stale.Calls);
    }

    [Fact]
    public async Task A_wait_that_ends_while_the_scheduler_sleeps_towards_it_is_dropped_unfired()
    {
        var scheduler = new DeadlineScheduler();
        var target = new Target(pending: true);
        scheduler.Schedule(target, 3, In(TimeSpan.FromMilliseconds(200)));
        target.Pending = false; // ended by a signal before its time
        var after = new Target(pending: true);
        scheduler.Schedule(after, 4, In(TimeSpan.FromMilliseconds(250)));

        await after.Fired.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal(0, target.Calls);
    }

    private sealed class Target(bool pending) : IDeadlineTarget
    {
        private int _calls;

        public volatile bool Pending = pending;

        public TaskCompletionSource<int> Fired { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long FiredAt { get; private set; }

        public int Calls => Volatile.Read(ref _calls);

        public bool IsPending(int version) => Pending;

        public void OnDeadline(int version)
        {
            FiredAt = Stopwatch.GetTimestamp();
            Interlocked.Increment(ref _calls);
            Fired.TrySetResult(version);
        }
    }
}
