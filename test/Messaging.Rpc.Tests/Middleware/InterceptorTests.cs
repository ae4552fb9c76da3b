using System.Buffers.Binary;
using System.Text;
using Messaging.Rpc.Tests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.Rpc.Tests.Middleware;

/// <summary>Client interceptors: their order, and what they may change — options and headers, the request, the outcome.</summary>
public sealed class InterceptorTests(TestBrokerFixture fixture)
{
    public sealed record Ping(int Index, string Text);

    private sealed class Recording(string name, List<string> log) : RpcInterceptor
    {
        public override async ValueTask<TResponse> InterceptCallAsync<TRequest, TResponse>(RpcCallContext<TRequest> context, RpcContinuation<TRequest, TResponse> continuation)
        {
            lock (log)
            {
                log.Add(name + " in " + context.Method);
            }

            var response = await continuation(context);
            lock (log)
            {
                log.Add(name + " out");
            }

            return response;
        }
    }

    /// <summary>Adds a header and rewrites the request on the way in, and the reply on the way out.</summary>
    private sealed class Rewriting : RpcInterceptor
    {
        public override async ValueTask<TResponse> InterceptCallAsync<TRequest, TResponse>(RpcCallContext<TRequest> context, RpcContinuation<TRequest, TResponse> continuation)
        {
            context.Options = context.Options with { Headers = [new RecordHeader("x-tenant", Encoding.UTF8.GetBytes("blue"))] };
            if (context is RpcCallContext<Ping> ping)
            {
                ping.Request = ping.Request with { Text = ping.Request.Text + "+in" };
            }

            var response = await continuation(context);
            return response is Ping pong ? (TResponse)(object)(pong with { Text = pong.Text + "+out" }) : response;
        }
    }

    /// <summary>Waits for something of its own (a token refresh, say) before it lets the call go on.</summary>
    private sealed class Awaiting : RpcInterceptor
    {
        public override async ValueTask<TResponse> InterceptCallAsync<TRequest, TResponse>(RpcCallContext<TRequest> context, RpcContinuation<TRequest, TResponse> continuation)
        {
            await Task.Delay(50);
            return await continuation(context);
        }
    }

    private sealed class Translating : RpcInterceptor
    {
        public override async ValueTask<TResponse> InterceptCallAsync<TRequest, TResponse>(RpcCallContext<TRequest> context, RpcContinuation<TRequest, TResponse> continuation)
        {
            try
            {
                return await continuation(context);
            }
            catch (RpcException e) when (e.Status == RpcStatus.Internal)
            {
                throw new RpcException(RpcStatus.FailedPrecondition, "translated: " + e.Detail, e);
            }
        }
    }

    /// <summary>Sends the call twice at once (a hedging interceptor of its own, say): two requests under the call's one correlation ID.</summary>
    private sealed class SendingTwice : RpcInterceptor
    {
        public override async ValueTask<TResponse> InterceptCallAsync<TRequest, TResponse>(RpcCallContext<TRequest> context, RpcContinuation<TRequest, TResponse> continuation)
        {
            var ping = (RpcCallContext<Ping>)(object)context;
            var text = ping.Request.Text;
            ping.Request = ping.Request with { Text = text + "-first" };
            var first = continuation(context).AsTask(); // the request is encoded before this returns
            ping.Request = ping.Request with { Text = text + "-second" };
            var second = continuation(context).AsTask();
            var replies = await Task.WhenAll(first, second);
            return (TResponse)(object)new Ping(0, ((Ping)(object)replies[0]!).Text + "," + ((Ping)(object)replies[1]!).Text);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Two_resilient_calls_under_one_correlation_id_at_once_each_get_their_own_reply()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, o => o.Interceptors = [new SendingTwice()], ct);
        await rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "echo", new Ping(0, "warm"), default, ct); // the topic is warm: requests go straight to the producer

        // The warm-up's two sends waited for the topic's lookup and went one after the other: if the first was answered
        // before the second entered the pending map, the second took the then free ID. Both were answered, so the
        // replier has seen all the IDs it will see for them.
        var warmIds = rpc.Replier.CorrelationIds.Count;

        // Idempotent: the retrying path, whose attempts carry the call's correlation ID. The second call finds it taken
        // by the first, still pending, and must wait for — and send — an ID of its own.
        var reply = await rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "echo", new Ping(1, "x"),
            new RpcCallOptions { Idempotent = true, Timeout = TimeSpan.FromSeconds(5) }, ct);

        Assert.Equal("x-first,x-second", reply.Text);
        // Each send got its own reply (above, within the 5 s deadline: before the fix a send that found its ID taken
        // sent the taken one and waited out its deadline). Two IDs when both were pending at once; one when the first
        // was answered before the second entered the map, which then reuses the free ID (4 of 8 class runs): this is
        // the process's first idempotent call, and the interceptor's first continuation returns only once the retrying
        // path is JIT-compiled on this thread — 25–58 ms after its request went out, measured in class runs (0.1 ms on
        // later calls), time enough for its reply to arrive.
        Assert.InRange(rpc.Replier.CorrelationIds.Count, warmIds + 1, warmIds + 2);
        Assert.Equal(0, rpc.Client.PendingEntries);
    }

    [Fact(Timeout = 60_000)]
    public async Task Interceptors_run_in_list_order_outermost_first_and_may_change_headers_request_and_reply()
    {
        var ct = TestContext.Current.CancellationToken;
        var log = new List<string>();
        await using var rpc = await RpcHarness.StartAsync(fixture, o =>
            o.Interceptors = [new Recording("a", log), new Recording("b", log), new Rewriting()], ct);

        var reply = await rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "echo", new Ping(1, "hi"), default, ct);

        Assert.Equal(["a in echo", "b in echo", "b out", "a out"], log);
        Assert.Equal(new Ping(1, "hi+in+out"), reply); // the server echoed the rewritten request; the reply was rewritten after
        Assert.True(rpc.Replier.Headers.TryPeek(out var headers));
        Assert.Equal("blue", Encoding.UTF8.GetString(headers["x-tenant"]));
    }

    [Fact(Timeout = 60_000)]
    public async Task An_interceptor_sees_and_may_replace_a_failure_and_raw_calls_pass_through_it_too()
    {
        var ct = TestContext.Current.CancellationToken;
        var log = new List<string>();
        await using var rpc = await RpcHarness.StartAsync(fixture, o => o.Interceptors = [new Translating(), new Recording("r", log)], ct);

        var error = await Assert.ThrowsAsync<RpcException>(() => rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "fail", new Ping(2, "x"), default, ct).AsTask());
        var raw = await rpc.Client.CallAsync(rpc.Requests, "echo", new byte[] { 7, 8 }, default, ct);

        Assert.Equal(RpcStatus.FailedPrecondition, error.Status);
        Assert.StartsWith("translated: boom", error.Detail, StringComparison.Ordinal);
        Assert.Equal(new byte[] { 7, 8 }, raw);
        Assert.Equal(["r in fail", "r in echo", "r out"], log);
    }

    [Fact(Timeout = 60_000)]
    public async Task Inside_a_server_call_outgoing_calls_inherit_its_deadline_and_cancellation()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, o => o.Interceptors = [new RpcDeadlinePropagationInterceptor()], ct);
        await rpc.Client.StartAsync(ct);
        var inboundDeadline = DateTimeOffset.UtcNow.AddSeconds(7);
        using var handlerCancelled = new CancellationTokenSource();
        var inbound = new RpcCallContext<Ping>(RpcCallSide.Server, "upstream", "Handle", Guid.NewGuid(), new Ping(0, ""),
            new RpcCallOptions { Deadline = inboundDeadline }, handlerCancelled.Token);

        using (RpcCallContext.Enter(inbound))
        {
            Assert.Same(inbound, RpcCallContext.Current);
            // No deadline of its own, and a later one: both become the handler's.
            await rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "echo", new Ping(1, "a"), default, ct);
            await rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "echo", new Ping(2, "b"), new RpcCallOptions { Timeout = TimeSpan.FromMinutes(5) }, ct);
            // An earlier one stays.
            var own = DateTimeOffset.UtcNow.AddSeconds(3);
            await rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "echo", new Ping(3, "c"), new RpcCallOptions { Deadline = own }, ct);

            var deadlines = rpc.Replier.Headers.Select(h => BinaryPrimitives.ReadInt64BigEndian(h["messaging_rpc_deadline"])).ToArray();
            Assert.Equal([inboundDeadline.ToUnixTimeMilliseconds(), inboundDeadline.ToUnixTimeMilliseconds(), own.ToUnixTimeMilliseconds()], deadlines);

            // The handler's cancellation ends its outgoing call.
            var pending = rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "ignore", new Ping(4, "d"), default, ct).AsTask();
            await Conditions.WaitUntilAsync(() => rpc.Client.PendingEntries == 1, TimeSpan.FromSeconds(10), "the call is pending", ct);
            await handlerCancelled.CancelAsync();
            var cancelled = await Assert.ThrowsAsync<RpcException>(() => pending.WaitAsync(TimeSpan.FromSeconds(5), ct));
            Assert.Equal(RpcStatus.Cancelled, cancelled.Status);
        }

        Assert.Null(RpcCallContext.Current);
    }

    [Fact]
    public async Task Inside_a_server_call_an_outgoing_call_with_a_timeout_of_TimeSpan_MaxValue_takes_the_handlers_deadline()
    {
        var inboundDeadline = DateTimeOffset.UtcNow.AddSeconds(7);
        var inbound = new RpcCallContext<Ping>(RpcCallSide.Server, "upstream", "Handle", Guid.NewGuid(), new Ping(0, ""),
            new RpcCallOptions { Deadline = inboundDeadline }, CancellationToken.None);
        var outgoing = new RpcCallContext<Ping>(RpcCallSide.Client, "downstream", "Get", Guid.NewGuid(), new Ping(1, ""),
            new RpcCallOptions { Timeout = TimeSpan.MaxValue }, CancellationToken.None);
        RpcCallOptions? sent = null;

        using (RpcCallContext.Enter(inbound))
        {
            await new RpcDeadlinePropagationInterceptor().InterceptCallAsync<Ping, Ping>(outgoing, c =>
            {
                sent = c.Options;
                return ValueTask.FromResult(c.Request);
            });
        }

        Assert.Equal(inboundDeadline, sent?.Deadline);
        Assert.Null(sent?.Timeout);
    }

    [Fact(Timeout = 60_000)]
    public async Task Behind_an_interceptor_that_awaits_a_raw_call_sends_its_payload_and_key_as_they_were_when_CallAsync_returned()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, o => o.Interceptors = [new Awaiting()], ct);
        await rpc.Client.CallAsync(rpc.Requests, "echo", new byte[] { 9 }, default, ct);
        var payload = new byte[] { 1, 2, 3 };
        var key = new byte[] { 7, 7 };

        // The payload and key are documented as read before the call returns its first await: the caller may reuse them now.
        var call = rpc.Client.CallAsync(rpc.Requests, "echo", payload, new RpcCallOptions { Key = key }, ct);
        Assert.False(call.IsCompleted);
        payload.AsSpan().Fill(0xEE);
        key.AsSpan().Fill(0xEE);

        Assert.Equal(new byte[] { 1, 2, 3 }, await call);
        Assert.Equal(new byte[] { 7, 7 }, rpc.Replier.Keys.Last());
    }

    [Fact(Timeout = 60_000)]
    public async Task Behind_interceptors_an_oversized_raw_payload_fails_on_its_size_without_being_copied()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, o => o.Interceptors = [new Recording("r", [])], ct);
        await rpc.Client.StartAsync(ct);
        var payload = new byte[8_000_000]; // eight times MaxRequestBytes

        var before = GC.GetAllocatedBytesForCurrentThread();
        var call = rpc.Client.CallAsync(rpc.Requests, "echo", payload, default, ct);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        var error = await Assert.ThrowsAsync<RpcException>(() => call.AsTask());
        Assert.Equal(RpcStatus.ResourceExhausted, error.Status);
        Assert.True(allocated < payload.Length / 2, $"the call allocated {allocated} bytes before its first await, for a payload of {payload.Length} it refuses");
    }

    [Fact(Timeout = 60_000)]
    public async Task Behind_interceptors_a_raw_call_that_waits_for_the_start_sends_the_copy_it_made_before_them()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, o => o.Interceptors = [new Recording("r", [])], ct);
        var created = 0;
        rpc.Client.Streams.StreamCreated += (_, _) => Interlocked.Increment(ref created);
        var payload = new byte[] { 1, 2, 3 };

        // The first call starts the client and waits for it: the payload it copied before the interceptors is its own,
        // so the wait needs no other copy; the request topic is new to the producer, so the send holds one (the cold path's).
        var call = rpc.Client.CallAsync(rpc.Requests, "echo", payload, default, ct);
        Assert.False(call.IsCompleted);
        payload.AsSpan().Fill(0xEE);

        Assert.Equal(new byte[] { 1, 2, 3 }, await call);
        Assert.Equal(1, Volatile.Read(ref created));
    }
}
