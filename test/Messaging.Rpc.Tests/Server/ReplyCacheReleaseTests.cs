namespace Messaging.Rpc.Tests.Server;

/// <summary>
/// Disposal after a handler stuck past the grace: a duplicate waiting on it is not started by the cache's release, and
/// a request that starts only after the release (queued behind a handler that blocked its thread) stores nothing.
/// </summary>
public sealed class ReplyCacheReleaseTests
{
    [Fact(Timeout = 30_000)]
    public async Task A_duplicate_waiting_when_the_cache_is_released_answers_unavailable_without_running_or_storing_anything()
    {
        var harness = new DispatchHarness(o => o.ReplyCache.Enabled = true);
        var ran = 0;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        harness.MapRaw("Stuck", async (payload, _) =>
        {
            if (Interlocked.Increment(ref ran) == 1)
            {
                await release.Task; // ignores its token
            }

            return payload;
        });
        var id = Guid.NewGuid();
        var first = new ServerRequest();
        Assert.True(harness.Read(first, DispatchHarness.Headers("Stuck", id), new byte[] { 1 }));
        var running = harness.Dispatcher.ProcessAsync(first).AsTask();
        Assert.Equal(1, Volatile.Read(ref ran));

        // The duplicate looks the ID up and waits for the running request's reply (the call returns at that await).
        var duplicate = new ServerRequest();
        Assert.True(harness.Read(duplicate, DispatchHarness.Headers("Stuck", id), new byte[] { 1 }));
        var waiting = harness.Dispatcher.ProcessAsync(duplicate).AsTask();
        Assert.False(waiting.IsCompleted);

        // Disposal: the drain and the grace ran out (the abort fired), then the cache is released.
        await harness.Abort.CancelAsync();
        harness.Dispatcher.ReleaseCache();
        await waiting.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

        Assert.Equal(1, Volatile.Read(ref ran)); // the disposed server started no handler
        var reply = Assert.Single(harness.Sink.Replies);
        Assert.Equal(RpcStatus.Unavailable, reply.Status);

        // The stuck handler ends late: its reply goes out, and the released cache keeps nothing of it either.
        release.SetResult();
        await running.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        var (_, again) = await harness.RunAsync(DispatchHarness.Headers("Stuck", id), new byte[] { 1 });
        Assert.Equal(2, Volatile.Read(ref ran));
        Assert.Equal(0, harness.Counters.ReplyCacheHits);
        Assert.Equal(RpcStatus.Ok, again!.Status);
    }

    [Fact]
    public async Task A_request_that_starts_after_the_cache_is_released_runs_but_the_released_cache_keeps_nothing_of_it()
    {
        var harness = new DispatchHarness(o => o.ReplyCache.Enabled = true);
        var ran = 0;
        harness.MapRaw("Echo", (payload, _) =>
        {
            Interlocked.Increment(ref ran);
            return ValueTask.FromResult(payload); // completes synchronously: the reply is stored before ProcessAsync returns
        });
        var id = Guid.NewGuid();

        // Disposal ran out of patience (the abort fired) and released the cache while this request still sat in a
        // thread-pool run behind a handler that blocked its thread: it starts only now.
        await harness.Abort.CancelAsync();
        harness.Dispatcher.ReleaseCache();
        var (_, late) = await harness.RunAsync(DispatchHarness.Headers("Echo", id), new byte[] { 1 });
        Assert.Equal(RpcStatus.Ok, late!.Status);
        Assert.Equal(1, Volatile.Read(ref ran));

        // Nothing of it was stored: a duplicate is not answered from the released cache but runs (a stored entry
        // would keep the reply's bytes reachable from the disposed server).
        var (_, duplicate) = await harness.RunAsync(DispatchHarness.Headers("Echo", id), new byte[] { 1 });
        Assert.Equal(RpcStatus.Ok, duplicate!.Status);
        Assert.Equal(2, Volatile.Read(ref ran));
        Assert.Equal(0, harness.Counters.ReplyCacheHits);
    }
}
