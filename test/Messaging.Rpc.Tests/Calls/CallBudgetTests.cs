using System.Diagnostics;
using Messaging.Rpc.Tests.Support;

namespace Messaging.Rpc.Tests.Calls;

/// <summary>
/// The client's bounds on their own: waiters are served first come, first served, every release reaches every waiter
/// that now fits, a waiter that gives up lets the ones behind it through, failed attempts never strand a waiter, waits
/// of any length work, and closing fails the waiters without taking any room.
/// </summary>
public sealed class CallBudgetTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact(Timeout = 60_000)]
    public async Task Waiters_are_granted_in_arrival_order_and_one_release_grants_every_waiter_that_fits()
    {
        var ct = TestContext.Current.CancellationToken;
        var budget = new CallBudget(100, 100, TimeProvider.System);
        Assert.True(await budget.ReserveAsync(60, TimeSpan.Zero, ct));
        Assert.True(await budget.ReserveAsync(30, TimeSpan.Zero, ct));

        var large = budget.ReserveAsync(80, Long, ct).AsTask();
        var small = budget.ReserveAsync(20, Long, ct).AsTask();
        var late = budget.ReserveAsync(5, Long, ct).AsTask(); // would fit now (90 + 5), but others wait ahead of it
        Assert.False(large.IsCompleted);
        Assert.False(small.IsCompleted);
        Assert.False(late.IsCompleted);
        Assert.Equal(3, budget.Waiting);

        budget.Release(30); // 60 held: room for the small ones, but the large one is first
        Assert.False(large.IsCompleted);
        Assert.False(small.IsCompleted);

        budget.Release(60); // nothing held: 80, then 20 fit; the 5 does not (100 + 5)
        Assert.True(await large.WaitAsync(Patience, ct));
        Assert.True(await small.WaitAsync(Patience, ct));
        Assert.False(late.IsCompleted);
        Assert.Equal((2, 100L), (budget.Calls, budget.Bytes));

        budget.Release(20);
        Assert.True(await late.WaitAsync(Patience, ct));
        Assert.Equal((2, 85L), (budget.Calls, budget.Bytes));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_waiter_whose_time_runs_out_lets_the_waiters_behind_it_through()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new ManualTimeProvider();
        var budget = new CallBudget(100, 100, time);
        Assert.True(await budget.ReserveAsync(60, TimeSpan.Zero, ct));

        var large = budget.ReserveAsync(80, TimeSpan.FromSeconds(1), ct).AsTask();
        var small = budget.ReserveAsync(20, Long, ct).AsTask(); // fits (60 + 20), but queues behind the large one
        Assert.False(small.IsCompleted);

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(await large.WaitAsync(Patience, ct));
        Assert.True(await small.WaitAsync(Patience, ct));
        Assert.Equal((2, 80L), (budget.Calls, budget.Bytes));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_cancelled_waiter_takes_no_room_and_lets_the_waiters_behind_it_through()
    {
        var ct = TestContext.Current.CancellationToken;
        var budget = new CallBudget(100, 100, TimeProvider.System);
        Assert.True(await budget.ReserveAsync(60, TimeSpan.Zero, ct));
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(ct);

        var large = budget.ReserveAsync(80, Long, cancel.Token).AsTask();
        var small = budget.ReserveAsync(20, Long, ct).AsTask();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => large.WaitAsync(Patience, ct));
        Assert.True(await small.WaitAsync(Patience, ct));
        Assert.Equal((2, 80L), (budget.Calls, budget.Bytes));
    }

    [Fact(Timeout = 120_000)]
    public async Task Attempts_that_cannot_fit_racing_a_release_never_strand_a_waiter()
    {
        // One call slot. A holder has it, a waiter waits for it, and meanwhile another caller keeps trying a payload that
        // can never fit (each try takes the slot for an instant and gives it back). When the holder releases, the
        // waiter must get the slot — whichever of them held it at that moment.
        var ct = TestContext.Current.CancellationToken;
        var budget = new CallBudget(1, 100, TimeProvider.System);
        var watch = Stopwatch.StartNew();
        for (var iteration = 0; iteration < 500 && watch.Elapsed < TimeSpan.FromSeconds(30); iteration++)
        {
            Assert.True(await budget.ReserveAsync(1, TimeSpan.Zero, ct));
            var waiter = budget.ReserveAsync(1, Long, ct).AsTask();
            Assert.False(waiter.IsCompleted);

            using var stop = new CancellationTokenSource();
            var tries = 0;
            var spinner = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    Assert.False(await budget.ReserveAsync(1000, TimeSpan.Zero, CancellationToken.None));
                    Interlocked.Increment(ref tries);
                }
            }, ct);
            while (Volatile.Read(ref tries) == 0)
            {
                await Task.Yield();
            }

            budget.Release(1);
            var granted = await Task.WhenAny(waiter, Task.Delay(Patience, ct)) == waiter;
            await stop.CancelAsync();
            await spinner;
            Assert.True(granted, $"iteration {iteration}: the slot was freed but the waiter was not granted it ({budget.Calls} calls held)");
            Assert.True(await waiter);
            budget.Release(1);
        }

        Assert.Equal((0, 0L), (budget.Calls, budget.Bytes));
        Assert.Equal(0, budget.Waiting);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_wait_of_months_waits_for_room_instead_of_refusing_the_timer()
    {
        // Timers refuse due times beyond ~49 days; the pending-call map takes deadlines months away, so the bounds must too.
        var ct = TestContext.Current.CancellationToken;
        var time = new ManualTimeProvider();
        var budget = new CallBudget(1, 100, time);
        Assert.True(await budget.ReserveAsync(1, TimeSpan.Zero, ct));

        var waiting = budget.ReserveAsync(1, TimeSpan.FromDays(60), ct).AsTask();
        for (var day = 0; day < 30; day++)
        {
            await ArmedAsync(time, waiting);
            time.Advance(TimeSpan.FromDays(1)); // one slice of the wait
        }

        Assert.False(waiting.IsCompleted);

        budget.Release(1);
        Assert.True(await waiting.WaitAsync(Patience, ct));

        var expiring = budget.ReserveAsync(1, TimeSpan.FromDays(60), ct).AsTask();
        for (var day = 0; day < 60; day++)
        {
            await ArmedAsync(time, expiring);
            time.Advance(TimeSpan.FromDays(1));
        }

        Assert.False(await expiring.WaitAsync(Patience, ct));
        Assert.Equal((1, 1L), (budget.Calls, budget.Bytes));
    }

    /// <summary>Waits until the waiter has armed its next slice (or is done), so advancing the clock reaches it.</summary>
    private static Task ArmedAsync(ManualTimeProvider time, Task waiter) =>
        Conditions.WaitUntilAsync(() => time.ArmedTimers == 1 || waiter.IsCompleted, Patience, "the waiter armed its next slice", TestContext.Current.CancellationToken);

    [Fact(Timeout = 60_000)]
    public async Task Closing_fails_every_waiter_and_every_later_wait_and_releases_still_count()
    {
        var ct = TestContext.Current.CancellationToken;
        var budget = new CallBudget(2, 100, TimeProvider.System);
        Assert.True(await budget.ReserveAsync(10, TimeSpan.Zero, ct));
        Assert.True(await budget.ReserveAsync(10, TimeSpan.Zero, ct));
        var waiters = Enumerable.Range(0, 5).Select(_ => budget.ReserveAsync(10, Long, ct).AsTask()).ToList();

        budget.Close();

        foreach (var waiter in waiters)
        {
            await Assert.ThrowsAsync<ObjectDisposedException>(() => waiter.WaitAsync(Patience, ct));
        }

        Assert.Equal((2, 20L), (budget.Calls, budget.Bytes)); // the waiters took nothing
        await Assert.ThrowsAsync<ObjectDisposedException>(() => budget.ReserveAsync(10, Long, ct).AsTask());
        budget.Release(10);
        budget.Release(10);
        Assert.Equal((0, 0L), (budget.Calls, budget.Bytes));
        Assert.Equal(0, budget.Waiting);
    }
}
