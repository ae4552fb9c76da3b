using Messaging.Rpc.Tests.Support;

namespace Messaging.Rpc.Tests.Calls;

/// <summary>The pending-call map on its own, with a clock that moves only when told: deadlines, exactly-once completion, reuse, bounds, closing.</summary>
public sealed class PendingCallsTests
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task A_call_fails_with_DeadlineExceeded_when_the_clock_passes_its_deadline_and_not_before()
    {
        var time = new ManualTimeProvider();
        var calls = Create(time);
        var (call, task) = await AddAsync<string>(calls, time, Second);

        time.Advance(TimeSpan.FromMilliseconds(990));
        Assert.False(call.IsClaimed);
        Assert.Equal(1, calls.Count);

        time.Advance(TimeSpan.FromMilliseconds(10));
        var error = await Assert.ThrowsAsync<RpcException>(() => task);

        Assert.Equal(RpcStatus.DeadlineExceeded, error.Status);
        Assert.Equal(Second, error.Elapsed);
        Assert.Equal("method", error.Method);
        Assert.Equal("topic", error.Topic);
        Assert.False(error.RequestAcknowledged);
        AssertEmpty(calls);
        Assert.Equal(1, calls.Statistics.DeadlinesExceeded);
    }

    [Fact]
    public async Task A_call_still_fails_with_DeadlineExceeded_when_the_check_interval_is_the_largest_there_is()
    {
        var time = new ManualTimeProvider();
        var calls = Create(time, options => options.DeadlineCheckInterval = TimeSpan.MaxValue);
        var (_, task) = await AddAsync<string>(calls, time, Second);
        Assert.Equal(1, time.ArmedTimers); // no armed check to share: the first deadline arms one

        time.Advance(Second);
        var error = await Assert.ThrowsAsync<RpcException>(() => task);

        Assert.Equal(RpcStatus.DeadlineExceeded, error.Status);
        AssertEmpty(calls);
    }

    [Fact]
    public async Task The_deadline_timer_is_armed_only_while_a_call_can_expire()
    {
        var time = new ManualTimeProvider();
        var calls = Create(time);
        Assert.Equal(0, time.ArmedTimers); // an idle client never wakes

        var (call, task) = await AddAsync<string>(calls, time, Second);
        Assert.Equal(1, time.ArmedTimers);

        calls.OnSendFailed(call, call.Generation, new InvalidOperationException("gone"));
        await Assert.ThrowsAsync<RpcException>(() => task);

        // The armed check is not withdrawn when its call ends early; it fires once, finds nothing and disarms.
        time.Advance(Second);
        Assert.Equal(1, time.Firings);
        Assert.Equal(0, time.ArmedTimers);

        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, time.Firings);
        AssertEmpty(calls);
    }

    [Fact]
    public async Task A_shorter_deadline_added_after_a_longer_one_is_enforced_on_time()
    {
        var time = new ManualTimeProvider();
        var calls = Create(time);
        var (longCall, longTask) = await AddAsync<string>(calls, time, 5 * Second);
        var (_, shortTask) = await AddAsync<string>(calls, time, Second);

        time.Advance(Second);
        Assert.Equal(Second, (await Assert.ThrowsAsync<RpcException>(() => shortTask)).Elapsed);
        Assert.False(longCall.IsClaimed);

        time.Advance(4 * Second);
        Assert.Equal(5 * Second, (await Assert.ThrowsAsync<RpcException>(() => longTask)).Elapsed);
        Assert.Equal(2, time.Firings);
        AssertEmpty(calls);
    }

    [Fact]
    public async Task Calls_whose_deadlines_are_close_together_share_the_armed_check()
    {
        var time = new ManualTimeProvider();
        var calls = Create(time); // check interval 10 ms
        var (_, first) = await AddAsync<string>(calls, time, Second);
        time.Advance(TimeSpan.FromMilliseconds(5));
        var (second, secondTask) = await AddAsync<string>(calls, time, Second); // due 5 ms after the armed check

        time.Advance(TimeSpan.FromMilliseconds(995));
        Assert.Equal(RpcStatus.DeadlineExceeded, (await Assert.ThrowsAsync<RpcException>(() => first)).Status);
        Assert.False(second.IsClaimed); // not expired early: the sweep re-armed for it

        time.Advance(TimeSpan.FromMilliseconds(5));
        Assert.Equal(Second, (await Assert.ThrowsAsync<RpcException>(() => secondTask)).Elapsed);
        Assert.Equal(2, time.Firings);
        AssertEmpty(calls);
    }

    [Fact]
    public async Task Calls_added_while_sweeps_run_all_expire()
    {
        // Calls with deadlines 1-40 ms out are added from several threads while the clock moves in 1 ms steps, so
        // additions race the sweeps' disarm-and-enumerate: none may be left without an armed check.
        var time = new ManualTimeProvider();
        var calls = Create(time);
        const int Threads = 4;
        const int PerThread = 300;
        var tasks = new List<Task<string>>[Threads];
        using var stop = new CancellationTokenSource();
        var clock = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                time.Advance(TimeSpan.FromMilliseconds(1));
                await Task.Yield();
            }
        }, TestContext.Current.CancellationToken);

        await Task.WhenAll(Enumerable.Range(0, Threads).Select(t => Task.Run(async () =>
        {
            var mine = tasks[t] = [];
            for (var i = 0; i < PerThread; i++)
            {
                mine.Add((await AddAsync<string>(calls, time, TimeSpan.FromMilliseconds(1 + ((i * 7) + t) % 40))).Task);
            }
        }, TestContext.Current.CancellationToken)));

        await stop.CancelAsync();
        await clock;
        time.Advance(Second);
        Assert.Equal(0, calls.Count); // the sweeps ran on the advancing thread: a call left behind would still be here

        foreach (var task in tasks.SelectMany(list => list))
        {
            Assert.Equal(RpcStatus.DeadlineExceeded, (await Assert.ThrowsAsync<RpcException>(() => task)).Status);
        }

        AssertEmpty(calls);
        Assert.Equal(Threads * PerThread, calls.Statistics.DeadlinesExceeded);
    }

    [Fact]
    public async Task A_call_the_running_sweep_missed_is_still_checked()
    {
        // B is added after the sweep went through the calls (so it missed B), while the check armed for A — which the
        // sweep is running — would cover B's deadline: B must not be left without a check.
        var time = new ManualTimeProvider();
        var calls = Create(time);
        var (_, a) = await AddAsync<string>(calls, time, TimeSpan.FromMilliseconds(1));
        Task<string>? b = null;
        calls.AfterCallsSwept = () =>
        {
            calls.AfterCallsSwept = null;
            b = AddAsync<string>(calls, time, TimeSpan.FromMilliseconds(5)).GetAwaiter().GetResult().Task;
        };

        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.NotNull(b);
        Assert.Equal(1, time.ArmedTimers);

        time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(0, calls.Count); // the sweeps ran on this thread: a call left behind would still be here
        await Assert.ThrowsAsync<RpcException>(() => a);
        Assert.Equal(RpcStatus.DeadlineExceeded, (await Assert.ThrowsAsync<RpcException>(() => b)).Status);
        AssertEmpty(calls);
    }

    [Fact]
    public async Task A_deadline_months_away_is_armed_in_steps_on_the_system_timer()
    {
        // The system timer refuses due times beyond ~49 days; a call with a timeout of a year must neither throw on
        // Add nor crash the sweep that re-arms for it once the shorter calls are gone.
        var calls = new PendingCalls(new RpcClientOptions(), new RpcWire(new RpcHeaderNames()));
        var far = (await AddAsync<string>(calls, TimeProvider.System, TimeSpan.FromDays(365))).Task;
        var near = (await AddAsync<string>(calls, TimeProvider.System, TimeSpan.FromMilliseconds(20))).Task;
        Assert.Equal(RpcStatus.DeadlineExceeded, (await Assert.ThrowsAsync<RpcException>(() => near.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken))).Status);

        // The sweep that expired it re-armed for the year-long call; a later short call still expires, so sweeps go on.
        var later = (await AddAsync<string>(calls, TimeProvider.System, TimeSpan.FromMilliseconds(20))).Task;
        Assert.Equal(RpcStatus.DeadlineExceeded, (await Assert.ThrowsAsync<RpcException>(() => later.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken))).Status);
        Assert.False(far.IsCompleted);

        calls.Close();
        Assert.Equal(RpcStatus.Unavailable, (await Assert.ThrowsAsync<RpcException>(() => far)).Status);
        AssertEmpty(calls);
    }

    [Fact]
    public async Task An_acknowledged_request_says_so_in_its_error()
    {
        var time = new ManualTimeProvider();
        var calls = Create(time);
        var (call, task) = await AddAsync<string>(calls, time, Second);

        calls.OnDelivered(call, call.Generation, null);
        time.Advance(Second);
        var error = await Assert.ThrowsAsync<RpcException>(() => task);

        Assert.True(error.RequestAcknowledged);
        Assert.Contains("request acknowledged by the broker", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_racing_completion_path_completes_a_call_exactly_once_and_removes_it()
    {
        var time = new ManualTimeProvider();
        var calls = Create(time);
        const int iterations = 2000;
        for (var i = 0; i < iterations; i++)
        {
            using var cancel = new CancellationTokenSource();
            var call = PendingCall<int>.Rent();
            Assert.True(await calls.ReserveAsync(8, Second, TestContext.Current.CancellationToken));
            var start = time.GetTimestamp();
            var generation = calls.Add(call, "method", "topic", JsonRpcSerializer.Default, start, start, 8, cancel.Token);
            var task = call.AsValueTask().AsTask();

            // The deadline sweep (the call is already due), the caller's token, a failed send and a plain failure race.
            var racers = new[]
            {
                Task.Run(() => time.Advance(TimeSpan.FromMilliseconds(10)), TestContext.Current.CancellationToken),
                Task.Run(cancel.Cancel, TestContext.Current.CancellationToken),
                Task.Run(() => calls.OnSendFailed(call, generation, new InvalidOperationException("send failed")), TestContext.Current.CancellationToken),
                Task.Run(() => calls.Fail(call, generation, new RpcException(RpcStatus.Aborted, "failed")), TestContext.Current.CancellationToken),
            };
            await Task.WhenAll(racers); // a second completion of one call would throw in its racer

            var error = await Assert.ThrowsAsync<RpcException>(() => task);
            Assert.Contains(error.Status, new[] { RpcStatus.DeadlineExceeded, RpcStatus.Cancelled, RpcStatus.Unavailable, RpcStatus.Aborted });
        }

        AssertEmpty(calls);
        Assert.Equal(iterations, calls.Statistics.CompletedCalls);
    }

    [Fact]
    public async Task A_stale_completion_never_touches_the_next_call_that_reuses_the_object()
    {
        var time = new ManualTimeProvider();
        var calls = Create(time);
        var (first, firstTask) = await AddAsync<StaleProbe>(calls, time, Second);
        var oldGeneration = first.Generation;
        calls.Fail(first, oldGeneration, new RpcException(RpcStatus.Aborted, "first"));
        await Assert.ThrowsAsync<RpcException>(() => firstTask); // recycled into the pool by GetResult

        var (second, secondTask) = await AddAsync<StaleProbe>(calls, time, Second);
        Assert.Same(first, second);

        calls.Fail(second, oldGeneration, new RpcException(RpcStatus.Aborted, "stale"));
        calls.OnDelivered(second, oldGeneration, null);
        Assert.False(second.IsClaimed);
        Assert.False(second.IsAcknowledged(second.Generation));
        Assert.Equal(1, calls.Count);

        calls.Fail(second, second.Generation, new RpcException(RpcStatus.Aborted, "second"));
        var error = await Assert.ThrowsAsync<RpcException>(() => secondTask);
        Assert.Equal("second", error.Detail);
    }

    [Fact]
    public async Task Beyond_the_bounds_a_call_waits_for_room_and_gives_up_when_its_wait_runs_out()
    {
        var time = new ManualTimeProvider();
        var calls = Create(time, o =>
        {
            o.MaxPendingCalls = 2;
            o.MaxPendingRequestBytes = 100;
            o.MaxRequestBytes = 100;
        });
        Assert.True(await calls.ReserveAsync(10, Second, TestContext.Current.CancellationToken));
        Assert.True(await calls.ReserveAsync(10, Second, TestContext.Current.CancellationToken));

        var waiting = calls.ReserveAsync(10, TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken).AsTask();
        Assert.False(waiting.IsCompleted);
        calls.Unreserve(10);
        Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));

        var full = calls.ReserveAsync(10, TimeSpan.FromMilliseconds(20), TestContext.Current.CancellationToken).AsTask(); // calls bound
        Assert.False(full.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(20)); // the wait runs on the client's clock
        Assert.False(await full.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
        calls.Unreserve(10);
        var tooBig = calls.ReserveAsync(95, TimeSpan.FromMilliseconds(20), TestContext.Current.CancellationToken).AsTask(); // bytes bound: 10 + 95 > 100
        time.Advance(TimeSpan.FromMilliseconds(20));
        Assert.False(await tooBig.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken));
        Assert.True(await calls.ReserveAsync(90, TimeSpan.FromMilliseconds(20), TestContext.Current.CancellationToken));
        Assert.Equal((2, 100L), calls.Reserved);
    }

    [Fact]
    public async Task Closing_fails_every_pending_call_and_every_call_added_after()
    {
        var time = new ManualTimeProvider();
        var calls = Create(time);
        var pending = new List<Task<string>>();
        for (var i = 0; i < 3; i++)
        {
            pending.Add((await AddAsync<string>(calls, time, Second)).Task);
        }

        calls.Close();
        var late = await AddAsync<string>(calls, time, Second);

        foreach (var task in pending.Append(late.Task))
        {
            var error = await Assert.ThrowsAsync<RpcException>(() => task);
            Assert.Equal(RpcStatus.Unavailable, error.Status);
            Assert.IsType<ObjectDisposedException>(error.InnerException);
        }

        AssertEmpty(calls);
    }

    private static PendingCalls Create(TimeProvider time, Action<RpcClientOptions>? configure = null)
    {
        var options = new RpcClientOptions { TimeProvider = time, DeadlineCheckInterval = TimeSpan.FromMilliseconds(10) };
        configure?.Invoke(options);
        return new PendingCalls(options, new RpcWire(options.Headers));
    }

    private static async Task<(PendingCall<T> Call, Task<T> Task)> AddAsync<T>(PendingCalls calls, TimeProvider time, TimeSpan timeout)
    {
        Assert.True(await calls.ReserveAsync(16, Second, TestContext.Current.CancellationToken));
        var call = PendingCall<T>.Rent();
        var start = time.GetTimestamp();
        calls.Add(call, "method", "topic", JsonRpcSerializer.Default, start, start + (long)(timeout.TotalSeconds * time.TimestampFrequency), 16, default);
        return (call, call.AsValueTask().AsTask());
    }

    private static void AssertEmpty(PendingCalls calls)
    {
        Assert.Equal(0, calls.Count);
        Assert.Equal((0, 0L), calls.Reserved);
        Assert.Equal(0, calls.Statistics.PendingCalls);
    }

    /// <summary>A reply type of this test alone, so that its calls' pool is not shared with other tests running in parallel.</summary>
    public sealed class StaleProbe;
}
