using System.Text;
using Messaging.Rpc.Tests.Support;

namespace Messaging.Rpc.Tests.Calls;

/// <summary>
/// Answered calls completed in runs (one thread-pool work item per up to 8 replies): each caller gets its own reply,
/// on a pool thread that is not the filler's, the calls leave nothing behind, and no caller's fault or captured context
/// changes what the others get.
/// </summary>
public sealed class ReplyRunTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact(Timeout = 60_000)]
    public async Task A_full_run_completes_every_call_with_its_own_reply_on_one_pool_thread_not_in_its_filler()
    {
        var calls = Create();
        var added = new List<(PendingCall<Probe> Call, int Generation, ValueTask<Probe> Reply)>();
        for (var i = 0; i < ReplyRun.Capacity; i++)
        {
            added.Add(await AddAsync(calls));
        }

        var returned = new TaskCompletionSource<ReplyRun>(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = new ReplyRun(r => returned.TrySetResult(r));
        for (var i = 0; i < added.Count; i++)
        {
            var (call, generation, _) = added[i];
            Assert.True(call.TryClaim(generation));
            Assert.True(call.TryDecodeReply(Encoding.UTF8.GetBytes($$"""{"text":"reply {{i}}"}"""), out var error), error?.Message);
            run.Add(call);
        }

        Assert.True(run.IsFull);
        var filler = Environment.CurrentManagedThreadId;
        var filling = true;
        var resumedInFiller = 0;
        var threads = new int[added.Count];
        var answers = new Task<Probe>[added.Count];
        for (var i = 0; i < added.Count; i++)
        {
            var index = i;
            var reply = added[i].Reply;
            answers[i] = Continue(reply, () =>
            {
                threads[index] = Environment.CurrentManagedThreadId;
                if (Volatile.Read(ref filling) && threads[index] == filler)
                {
                    Interlocked.Increment(ref resumedInFiller);
                }
            });
        }

        run.Schedule();
        Volatile.Write(ref filling, false);
        var replies = await Task.WhenAll(answers).WaitAsync(Patience, TestContext.Current.CancellationToken);

        Assert.Equal(Enumerable.Range(0, added.Count).Select(i => new Probe($"reply {i}")), replies);
        Assert.Single(threads.Distinct()); // one work item for the whole run
        Assert.Equal(0, resumedInFiller); // queued, not run by the loop that filled it
        Assert.Same(run, await returned.Task.WaitAsync(Patience, TestContext.Current.CancellationToken));
        Assert.True(run.IsEmpty);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_continuation_that_throws_does_not_keep_the_calls_after_it_from_their_replies()
    {
        var calls = Create();
        var first = await AddAsync(calls);
        var second = await AddAsync(calls);
        var done = 0;
        var run = new ReplyRun(_ => done++);
        foreach (var (call, generation, _) in new[] { first, second })
        {
            Assert.True(call.TryClaim(generation));
            Assert.True(call.TryDecodeReply("""{"text":"ok"}"""u8, out _));
            run.Add(call);
        }

        // A raw continuation (not an async method's, which never throws) that throws when it runs.
        first.Reply.GetAwaiter().UnsafeOnCompleted(() => throw new InvalidOperationException("caller fault"));
        var secondReply = second.Reply.AsTask();

        // Executed in place, so the rethrown fault reaches the test instead of the pool (where it would end the process,
        // as it would have had the continuation been a work item of its own).
        var fault = Assert.Throws<InvalidOperationException>(() => ((IThreadPoolWorkItem)run).Execute());

        Assert.Equal("caller fault", fault.Message);
        Assert.Equal(new Probe("ok"), await secondReply.WaitAsync(Patience, TestContext.Current.CancellationToken));
        Assert.Equal(1, done);
        Assert.True(run.IsEmpty);
        Assert.Equal(new Probe("ok"), await first.Reply); // completed: the await reads the throwing caller's reply at once
    }

    [Fact(Timeout = 60_000)]
    public async Task A_caller_that_awaited_under_a_synchronization_context_is_resumed_through_it()
    {
        var calls = Create();
        var (call, generation, reply) = await AddAsync(calls);
        var context = new CountingContext();
        var resumed = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(context);
        try
        {
            var awaiter = reply.GetAwaiter();
            awaiter.OnCompleted(() => resumed.TrySetResult(SynchronizationContext.Current == context));
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }

        Assert.True(call.TryClaim(generation));
        Assert.True(call.TryDecodeReply("""{"text":"ok"}"""u8, out _));
        var run = new ReplyRun(_ => { });
        run.Add(call);
        run.Schedule();

        Assert.True(await resumed.Task.WaitAsync(Patience, TestContext.Current.CancellationToken));
        Assert.Equal(1, context.Posts);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_recycled_call_completes_its_next_caller_asynchronously_again()
    {
        // The run completes in place; a call completed another way afterwards (a deadline, a failure) must not run its
        // caller on the completing thread: the reuse resets that.
        var calls = Create();
        var first = await AddAsync(calls);
        Assert.True(first.Call.TryClaim(first.Generation));
        Assert.True(first.Call.TryDecodeReply("""{"text":"ok"}"""u8, out _));
        var run = new ReplyRun(_ => { });
        run.Add(first.Call);
        ((IThreadPoolWorkItem)run).Execute();
        Assert.Equal(new Probe("ok"), await first.Reply);

        // The pool is a FIFO shared by this class's tests: calls recycled by earlier tests may queue before this one.
        var recycled = RentUntil(first.Call);
        var again = await AddAsync(calls, recycled);
        Assert.Same(first.Call, again.Call); // the recycled object is the one in use again
        // Resumed inside OnSendFailed, on its thread, would be the in-place completion leaking into the next use.
        var completer = Environment.CurrentManagedThreadId;
        var completing = true;
        var resumedInside = false;
        var resumed = ContinueAfterError(again.Reply, () => resumedInside = Volatile.Read(ref completing) && Environment.CurrentManagedThreadId == completer);
        calls.OnSendFailed(again.Call, again.Generation, new InvalidOperationException("gone"));
        Volatile.Write(ref completing, false);

        await resumed.WaitAsync(Patience, TestContext.Current.CancellationToken);
        Assert.False(resumedInside);
    }

    private static PendingCalls Create()
    {
        var options = new RpcClientOptions();
        return new PendingCalls(options, new RpcWire(options.Headers));
    }

    /// <summary>A call of this class's own reply type, <see cref="Probe"/>: its pool is not shared with tests running in parallel.</summary>
    private static async Task<(PendingCall<Probe> Call, int Generation, ValueTask<Probe> Reply)> AddAsync(PendingCalls calls, PendingCall<Probe>? rented = null)
    {
        Assert.True(await calls.ReserveAsync(16, Patience, TestContext.Current.CancellationToken));
        var call = rented ?? PendingCall<Probe>.Rent();
        var time = TimeProvider.System;
        var start = time.GetTimestamp();
        var generation = calls.Add(call, "method", "topic", JsonRpcSerializer.Default, start, start + (long)(60 * time.TimestampFrequency), 16, default);
#pragma warning disable CA2012 // Each test consumes the call's ValueTask exactly once.
        return (call, generation, call.AsValueTask());
#pragma warning restore CA2012
    }

    /// <summary>Rents from the pool until <paramref name="wanted"/> comes out (the idle calls before it are left to the GC).</summary>
    private static PendingCall<Probe> RentUntil(PendingCall<Probe> wanted)
    {
        for (var attempt = 0; attempt < 10_000; attempt++)
        {
            var call = PendingCall<Probe>.Rent();
            if (ReferenceEquals(call, wanted))
            {
                return call;
            }
        }

        Assert.Fail("The recycled call never came back out of the pool.");
        return null!;
    }

    private static async Task<Probe> Continue(ValueTask<Probe> reply, Action onResume)
    {
        var value = await reply;
        onResume();
        return value;
    }

    private static async Task ContinueAfterError(ValueTask<Probe> reply, Action onResume)
    {
        await Assert.ThrowsAsync<RpcException>(async () => await reply);

        onResume();
    }

    /// <summary>The reply type of this class's calls.</summary>
    public sealed record Probe(string Text);

    private sealed class CountingContext : SynchronizationContext
    {
        private int _posts;

        public int Posts => Volatile.Read(ref _posts);

        public override void Post(SendOrPostCallback d, object? state)
        {
            Interlocked.Increment(ref _posts);
            ThreadPool.QueueUserWorkItem(_ =>
            {
                SetSynchronizationContext(this);
                d(state);
            });
        }
    }
}
