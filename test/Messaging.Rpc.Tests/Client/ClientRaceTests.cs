using System.Diagnostics;
using Messaging.Rpc.Tests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.Rpc.Tests.Client;

/// <summary>
/// Races around the client's promises: every call completes exactly once whatever path ends it, the bounds are
/// released on every path and waiting calls are woken when room frees, and disposal (also concurrent, also twice)
/// ends everything and leaves the counters at zero.
/// </summary>
public sealed class ClientRaceTests(TestBrokerFixture fixture)
{
    /// <summary>A request/reply type of this class alone, so its pooled calls are not shared with other tests.</summary>
    public sealed record RaceProbe(int Worker, int Index, string Text);

    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    [Fact(Timeout = 120_000)]
    public async Task Racing_completions_from_many_threads_release_the_budget_exactly_once_per_call()
    {
        // Many calls in flight in one map; for each, the sweep, the caller's token, a failed send, a plain failure and
        // Close race. Afterwards: no entry, nothing reserved, every call counted once.
        var ct = TestContext.Current.CancellationToken;
        var time = new ManualTimeProvider();
        var options = new RpcClientOptions { TimeProvider = time, DeadlineCheckInterval = TimeSpan.FromMilliseconds(10), MaxPendingCalls = 100_000 };
        var calls = new PendingCalls(options, new RpcWire(options.Headers));
        const int Count = 4000;
        var tasks = new Task<RaceProbe>[Count];
        var cancels = new CancellationTokenSource[Count];
        var generations = new int[Count];
        var entries = new PendingCall<RaceProbe>[Count];
        for (var i = 0; i < Count; i++)
        {
            cancels[i] = new CancellationTokenSource();
            Assert.True(await calls.ReserveAsync(16, Second, ct));
            var call = entries[i] = PendingCall<RaceProbe>.Rent();
            var start = time.GetTimestamp();
            generations[i] = calls.Add(call, "method", "topic", JsonRpcSerializer.Default, start, start + (long)((1 + (i % 5)) * 0.001 * time.TimestampFrequency), 16, cancels[i].Token);
            tasks[i] = call.AsValueTask().AsTask();
        }

        Assert.Equal(Count, calls.Count);
        Assert.Equal((Count, 16L * Count), calls.Reserved);

        var racers = new List<Task>
        {
            Task.Run(() =>
            {
                for (var step = 0; step < 10; step++)
                {
                    time.Advance(TimeSpan.FromMilliseconds(1));
                }
            }, ct),
            Task.Run(() =>
            {
                for (var i = 0; i < Count; i += 2)
                {
                    cancels[i].Cancel();
                }
            }, ct),
            Task.Run(() =>
            {
                for (var i = Count - 1; i >= 0; i -= 3)
                {
                    calls.OnSendFailed(entries[i], generations[i], new InvalidOperationException("send failed"));
                }
            }, ct),
            Task.Run(() =>
            {
                for (var i = 0; i < Count; i += 5)
                {
                    calls.Fail(entries[i], generations[i], new RpcException(RpcStatus.Aborted, "failed"));
                }
            }, ct),
            Task.Run(calls.Close, ct),
        };
        await Task.WhenAll(racers);

        foreach (var task in tasks)
        {
            var error = await Assert.ThrowsAsync<RpcException>(() => task.WaitAsync(TimeSpan.FromSeconds(10), ct));
            Assert.Contains(error.Status, new[] { RpcStatus.DeadlineExceeded, RpcStatus.Cancelled, RpcStatus.Unavailable, RpcStatus.Aborted });
        }

        foreach (var cancel in cancels)
        {
            cancel.Dispose();
        }

        Assert.Equal(0, calls.Count);
        Assert.Equal((0, 0L), calls.Reserved);
        Assert.Equal(Count, calls.Statistics.CompletedCalls);
        Assert.Equal(0, calls.Statistics.PendingCalls);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Through a broker.
    // ---------------------------------------------------------------------------------------------------------------

    [Fact(Timeout = 120_000)]
    public async Task Thousands_of_calls_with_tiny_timeouts_racing_their_replies_each_end_once_with_their_own_outcome()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, null, ct);
        var (requests, replier, client) = (rpc.Requests, rpc.Replier, rpc.Client);
        await WarmAsync(rpc, ct);

        // Timeouts from 1 to 40 ms: around the round trip, so replies land just before, at and after the deadlines.
        const int Workers = 32;
        const int PerWorker = 100;
        var outcomes = await Task.WhenAll(Enumerable.Range(0, Workers).Select(w => Task.Run(async () =>
        {
            var (ok, expired) = (0, 0);
            for (var i = 0; i < PerWorker; i++)
            {
                var sent = new RaceProbe(w, i, "w" + w + "-" + i);
                try
                {
                    var received = await client.CallAsync<RaceProbe, RaceProbe>(requests, "echo", sent,
                        new RpcCallOptions { Timeout = TimeSpan.FromMilliseconds(1 + ((i * 7) + w) % 40) }, ct);
                    Assert.Equal(sent, received); // never another call's reply
                    ok++;
                }
                catch (RpcException ex) when (ex.Status == RpcStatus.DeadlineExceeded)
                {
                    expired++;
                }
            }

            return (ok, expired);
        }, ct)));

        var okCount = outcomes.Sum(o => o.ok);
        var expiredCount = outcomes.Sum(o => o.expired);
        Assert.Equal(Workers * PerWorker, okCount + expiredCount);
        Assert.Equal(0, client.PendingEntries);
        Assert.Equal(0, client.Statistics.PendingCalls);
        Assert.Equal(0, client.Statistics.PendingRequestBytes);
        Assert.Equal(Workers * PerWorker + 1, client.Statistics.CompletedCalls);
        Assert.Equal(expiredCount, client.Statistics.DeadlinesExceeded);

        // Every request that reached the replier was answered once: matched by its call, or dropped as late.
        await Conditions.WaitUntilAsync(() => client.Statistics.UnmatchedReplies + okCount + 1 == replier.Received, TimeSpan.FromSeconds(30),
            "every late reply was counted as unmatched", ct);
        Assert.True(client.Statistics.UnmatchedReplies <= expiredCount);
        Assert.Equal(0, client.Statistics.MalformedReplies);
    }

    [Fact(Timeout = 120_000)]
    public async Task Cancellations_racing_replies_end_each_call_once_with_its_reply_or_Cancelled()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, null, ct);
        var (requests, replier, client) = (rpc.Requests, rpc.Replier, rpc.Client);
        await WarmAsync(rpc, ct);

        const int Workers = 32;
        const int PerWorker = 60;
        var outcomes = await Task.WhenAll(Enumerable.Range(0, Workers).Select(w => Task.Run(async () =>
        {
            var (ok, cancelled) = (0, 0);
            for (var i = 0; i < PerWorker; i++)
            {
                var sent = new RaceProbe(w, i, "c" + w + "-" + i);
                using var cancel = new CancellationTokenSource();
                var call = client.CallAsync<RaceProbe, RaceProbe>(requests, "echo", sent, default, cancel.Token);

                // The token fires from another thread about when the reply comes (or at once, or not at all).
                var delay = ((i * 5) + w) % 12;
                var canceller = Task.Run(async () =>
                {
                    if (delay > 0)
                    {
                        await Task.Delay(delay, CancellationToken.None);
                    }

                    await cancel.CancelAsync();
                }, CancellationToken.None);
                try
                {
                    Assert.Equal(sent, await call);
                    ok++;
                }
                catch (RpcException ex) when (ex.Status == RpcStatus.Cancelled)
                {
                    cancelled++;
                }

                await canceller;
            }

            return (ok, cancelled);
        }, ct)));

        var okCount = outcomes.Sum(o => o.ok);
        var cancelledCount = outcomes.Sum(o => o.cancelled);
        Assert.Equal(Workers * PerWorker, okCount + cancelledCount);
        Assert.Equal(0, client.PendingEntries);
        Assert.Equal(0, client.Statistics.PendingCalls);
        Assert.Equal(0, client.Statistics.PendingRequestBytes);
        Assert.Equal(Workers * PerWorker + 1, client.Statistics.CompletedCalls);
        Assert.Equal(0, client.Statistics.DeadlinesExceeded);
        await Conditions.WaitUntilAsync(() => client.Statistics.UnmatchedReplies + okCount + 1 == replier.Received, TimeSpan.FromSeconds(30),
            "every reply to a cancelled call was counted as unmatched", ct);
    }

    [Fact(Timeout = 120_000)]
    public async Task Duplicated_replies_never_complete_a_later_call_that_reuses_the_pooled_object()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, null, ct);
        var (requests, replier, client) = (rpc.Requests, rpc.Replier, rpc.Client);
        await client.StartAsync(ct);

        // Every call gets two replies; by the second, its pooled call object is likely serving another call.
        const int Workers = 16;
        const int PerWorker = 80;
        await Task.WhenAll(Enumerable.Range(0, Workers).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < PerWorker; i++)
            {
                var sent = new RaceProbe(w, i, "d" + w + "-" + i);
                Assert.Equal(sent, await client.CallAsync<RaceProbe, RaceProbe>(requests, "twice", sent, default, ct));
            }
        }, ct)));

        Assert.Equal(Workers * PerWorker, client.Statistics.CompletedCalls);
        await Conditions.WaitUntilAsync(() => client.Statistics.UnmatchedReplies == Workers * PerWorker, TimeSpan.FromSeconds(30),
            "every second reply was dropped", ct);
        Assert.Equal(Workers * PerWorker, replier.Received);
        Assert.Equal(0, client.PendingEntries);
        Assert.Equal(0, client.Statistics.PendingCalls);
        Assert.Equal(0, client.Statistics.PendingRequestBytes);
    }

    [Fact(Timeout = 120_000)]
    public async Task Callers_beyond_MaxPendingRequestBytes_with_mixed_sizes_all_get_through()
    {
        // Small and large requests share a byte budget that holds one large and a few small ones: calls wait for room
        // and must be woken as it frees, none stranded until its deadline.
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, o =>
        {
            o.MaxRequestBytes = 4096;
            o.MaxPendingRequestBytes = 4096;
        }, ct);
        var (requests, _, client) = (rpc.Requests, rpc.Replier, rpc.Client);
        await client.StartAsync(ct);
        Assert.Single(await client.CallAsync(requests, "echo", new byte[] { 1 }, default, ct));

        const int Workers = 24;
        const int PerWorker = 20;
        var watch = Stopwatch.StartNew();
        var failures = await Task.WhenAll(Enumerable.Range(0, Workers).Select(w => Task.Run(async () =>
        {
            var failed = new List<string>();
            for (var i = 0; i < PerWorker; i++)
            {
                var size = (w + i) % 3 == 0 ? 3000 : 200;
                var payload = new byte[size];
                payload[0] = (byte)w;
                payload[^1] = (byte)i;
                try
                {
                    var reply = await client.CallAsync(requests, "echo", payload, new RpcCallOptions { Timeout = TimeSpan.FromSeconds(10) }, ct);
                    Assert.Equal(payload, reply);
                }
                catch (RpcException ex)
                {
                    failed.Add(size + " bytes: " + ex.Status + " after " + ex.Elapsed);
                }
            }

            return failed;
        }, ct)));

        var all = failures.SelectMany(f => f).ToList();
        Assert.True(all.Count == 0, $"{all.Count} of {Workers * PerWorker} calls failed (run took {watch.Elapsed}): " + string.Join("; ", all.Take(10)));
        Assert.Equal(0, client.PendingEntries);
        Assert.Equal(0, client.Statistics.PendingCalls);
        Assert.Equal(0, client.Statistics.PendingRequestBytes);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_request_as_large_as_the_whole_byte_budget_waits_for_room_and_proceeds()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, o =>
        {
            o.MaxRequestBytes = 4096;
            o.MaxPendingRequestBytes = 4096;
        }, ct);
        var (requests, replier, client) = (rpc.Requests, rpc.Replier, rpc.Client);
        await client.StartAsync(ct);
        Assert.Single(await client.CallAsync(requests, "echo", new byte[] { 1 }, default, ct));
        using var cancelSmall = CancellationTokenSource.CreateLinkedTokenSource(ct);

        var small = client.CallAsync(requests, "ignore", new byte[100], default, cancelSmall.Token).AsTask();
        await Conditions.WaitUntilAsync(() => replier.Received == 2, TimeSpan.FromSeconds(10), "the small request reached the replier", ct);
        var whole = new byte[4096];
        whole[0] = 42;
        var large = client.CallAsync(requests, "echo", whole, new RpcCallOptions { Timeout = TimeSpan.FromSeconds(30) }, ct).AsTask();
        await Conditions.WaitUntilAsync(() => client.WaitingForRoom == 1, TimeSpan.FromSeconds(10), "the large call waits for room", ct);
        Assert.False(large.IsCompleted);

        await cancelSmall.CancelAsync();
        Assert.Equal(RpcStatus.Cancelled, (await Assert.ThrowsAsync<RpcException>(() => small)).Status);
        Assert.Equal(whole, await large.WaitAsync(TimeSpan.FromSeconds(10), ct));
        Assert.Equal(0, client.Statistics.PendingCalls);
        Assert.Equal(0, client.Statistics.PendingRequestBytes);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_call_with_a_timeout_of_months_waits_for_room_and_proceeds()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, o => o.MaxPendingCalls = 1, ct);
        var (requests, replier, client) = (rpc.Requests, rpc.Replier, rpc.Client);
        await client.StartAsync(ct);
        using var cancelFirst = CancellationTokenSource.CreateLinkedTokenSource(ct);

        var first = client.CallAsync<RaceProbe, RaceProbe>(requests, "ignore", new RaceProbe(0, 0, "holds the slot"), default, cancelFirst.Token).AsTask();
        await Conditions.WaitUntilAsync(() => replier.Received == 1, TimeSpan.FromSeconds(10), "the first request reached the replier", ct);
        var sent = new RaceProbe(0, 1, "patient");
        var patient = client.CallAsync<RaceProbe, RaceProbe>(requests, "echo", sent, new RpcCallOptions { Timeout = TimeSpan.FromDays(60) }, ct).AsTask();

        await cancelFirst.CancelAsync();
        Assert.Equal(RpcStatus.Cancelled, (await Assert.ThrowsAsync<RpcException>(() => first)).Status);
        var outcome = await patient.WaitAsync(TimeSpan.FromSeconds(10), ct).ContinueWith(static t => t, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        Assert.True(outcome.IsCompletedSuccessfully,
            "the call waiting for room with a 60-day timeout should proceed once room frees; it ended with " + outcome.Exception?.InnerException);
        Assert.Equal(sent, await outcome);
    }

    [Fact(Timeout = 120_000)]
    public async Task Disposing_while_calls_wait_for_room_fails_them_all_at_once_and_leaves_the_budget_at_zero()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, o => o.MaxPendingCalls = 2, ct);
        var (requests, replier, client) = (rpc.Requests, rpc.Replier, rpc.Client);
        await client.StartAsync(ct);
        var options = new RpcCallOptions { Timeout = TimeSpan.FromSeconds(5) };

        var pending = Enumerable.Range(0, 2)
            .Select(i => client.CallAsync<RaceProbe, RaceProbe>(requests, "ignore", new RaceProbe(0, i, "pending"), options, ct).AsTask()).ToList();
        await Conditions.WaitUntilAsync(() => replier.Received == 2, TimeSpan.FromSeconds(10), "both pending requests reached the replier", ct);
        var waiting = Enumerable.Range(0, 10)
            .Select(i => client.CallAsync<RaceProbe, RaceProbe>(requests, "echo", new RaceProbe(1, i, "waiting"), options, ct).AsTask()).ToList();
        // The first waits for room, the other nine in line behind it (calls send in the order they were made).
        await Conditions.WaitUntilAsync(() => client.WaitingForRoom == 1 && client.WaitingToSend == 10, TimeSpan.FromSeconds(10), "ten calls wait for room", ct);

        // Timed until the calls end, not until the disposal returns: closing the consumer and the producer after the
        // calls have ended is no part of this, and on a loaded machine it can take longer than the margin below.
        var watch = Stopwatch.StartNew();
        var disposing = client.DisposeAsync().AsTask();
        foreach (var call in pending.Concat(waiting))
        {
            var error = await Assert.ThrowsAsync<RpcException>(() => call.WaitAsync(TimeSpan.FromSeconds(2), ct));
            Assert.Equal(RpcStatus.Unavailable, error.Status);
        }

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3), "every call ends at disposal, not at its deadline; took " + watch.Elapsed);
        await disposing;
        Assert.Equal(0, client.PendingEntries);
        Assert.Equal(0, client.WaitingToSend);

        // Whatever was still waiting inside the budget for those callers has given up (by their 5 s deadlines at the latest).
        await Conditions.WaitUntilAsync(() => client.WaitingForRoom == 0, TimeSpan.FromSeconds(20), "nothing waits in the budget any more", ct);
        var stats = client.Statistics;
        Assert.True(stats.PendingCalls == 0 && stats.PendingRequestBytes == 0,
            $"after disposal the budget still counts {stats.PendingCalls} calls and {stats.PendingRequestBytes} bytes, though no call is pending (entries: {client.PendingEntries})");
    }

    [Fact(Timeout = 120_000)]
    public async Task DisposeAsync_from_several_threads_while_callers_keep_calling_ends_everything_once()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, null, ct);
        var (requests, client) = (rpc.Requests, rpc.Client);
        await client.StartAsync(ct);

        var made = 0;
        var disposalDone = 0;
        var unexpected = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var callers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            var (ok, unavailable, disposed) = (0, 0, 0);
            var inFlight = new List<Task<RaceProbe>>();
            var unanswered = new List<Task<RaceProbe>>();
            for (var i = 0; Volatile.Read(ref disposalDone) == 0; i++)
            {
                try
                {
                    var call = client.CallAsync<RaceProbe, RaceProbe>(requests, i % 10 == 0 ? "ignore" : "echo", new RaceProbe(w, i, "x"), default, ct).AsTask();
                    (i % 10 == 0 ? unanswered : inFlight).Add(call);
                    Interlocked.Increment(ref made);
                }
                catch (ObjectDisposedException)
                {
                    disposed++;
                }

                if (inFlight.Count >= 16)
                {
                    var done = await Task.WhenAny(inFlight);
                    inFlight.Remove(done);
                    Classify(done);
                }
            }

            foreach (var call in inFlight.Concat(unanswered))
            {
                await call.WaitAsync(TimeSpan.FromSeconds(5), ct).ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
                Classify(call);
            }

            return (ok, unavailable, disposed);

            void Classify(Task<RaceProbe> done)
            {
                if (done.IsCompletedSuccessfully)
                {
                    ok++;
                }
                else if (done.Exception?.InnerException is RpcException { Status: RpcStatus.Unavailable })
                {
                    unavailable++;
                }
                else if (done.Exception?.InnerException is ObjectDisposedException)
                {
                    disposed++;
                }
                else
                {
                    unexpected.Enqueue(done.Exception?.InnerException ?? new TimeoutException("a call did not end within 5 s of disposal"));
                }
            }
        }, ct)).ToList();

        await Conditions.WaitUntilAsync(() => Volatile.Read(ref made) >= 300, TimeSpan.FromSeconds(30), "callers are busy", ct);
        var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var disposers = Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
        {
            await go.Task;
            await client.DisposeAsync();
        }, ct)).ToList();
        go.SetResult();
        await Task.WhenAll(disposers).WaitAsync(TimeSpan.FromSeconds(20), ct);
        await client.DisposeAsync(); // once more, after
        Volatile.Write(ref disposalDone, 1);

        var outcomes = await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(20), ct);
        Assert.True(unexpected.IsEmpty, "unexpected outcomes: " + string.Join("; ", unexpected.Take(5).Select(e => e.GetType().Name + ": " + e.Message)));
        Assert.True(outcomes.Sum(o => o.unavailable) > 0, "some calls were pending at disposal");
        Assert.Equal(0, client.PendingEntries);
        await Conditions.WaitUntilAsync(() => client.WaitingForRoom == 0, TimeSpan.FromSeconds(20), "nothing waits in the budget any more", ct);
        Assert.Equal(0, client.Statistics.PendingCalls);
        Assert.Equal(0, client.Statistics.PendingRequestBytes);

        // Every call that ended with a reply or Unavailable had entered the map (the client was started, the topic known).
        Assert.Equal(outcomes.Sum(o => o.ok + o.unavailable), client.Statistics.CompletedCalls);
    }

    /// <summary>Starts the harness's client and makes one call, so the topic is known and the path warm.</summary>
    private static async Task WarmAsync(RpcHarness rpc, CancellationToken cancellationToken)
    {
        await rpc.Client.StartAsync(cancellationToken);
        var reply = await rpc.Client.CallAsync<RaceProbe, RaceProbe>(rpc.Requests, "echo", new RaceProbe(-1, -1, "warm"), default, cancellationToken);
        Assert.Equal("warm", reply.Text);
    }
}
