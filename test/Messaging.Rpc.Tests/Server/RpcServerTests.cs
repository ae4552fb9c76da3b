using System.Collections.Concurrent;
using Messaging.Rpc.Tests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.Rpc.Tests.Server;

/// <summary>Our client calling our server through the (embedded) broker: replies, statuses, limits, deadlines and shutdown.</summary>
public sealed class RpcServerTests(TestBrokerFixture fixture)
{
    public sealed record Call(int Client, int Index, string Value);

    public sealed record Answer(int Client, int Index, string Value, string Server);

    [Fact(Timeout = 180_000)]
    public async Task Two_thousand_concurrent_calls_from_two_clients_to_two_servers_each_get_their_own_reply()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await ServerTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        var group = ServerTestSupport.NewGroup();
        await using var serverA = EchoServer(broker, requests, group, "a");
        await using var serverB = EchoServer(broker, requests, group, "b");
        await serverA.StartAsync(ct);
        await serverB.StartAsync(ct);
        await ServerTestSupport.AssignedAsync(ct, serverA, serverB);
        // Two reply partitions of one topic: a reply on the wrong one would be counted as unmatched.
        await using var clientA = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies, o => o.ReplyPartition = 0));
        await using var clientB = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies, o => o.ReplyPartition = 1));

        const int perClient = 1000;
        var calls = new List<Task<(Call Sent, Answer Received)>>(2 * perClient);
        for (var i = 0; i < perClient; i++)
        {
            calls.Add(CallAsync(clientA, 1, i));
            calls.Add(CallAsync(clientB, 2, i));
        }

        var results = await Task.WhenAll(calls);

        foreach (var (sent, received) in results)
        {
            Assert.Equal((sent.Client, sent.Index, sent.Value), (received.Client, received.Index, received.Value));
        }

        Assert.Contains(results, r => r.Received.Server == "a");
        Assert.Contains(results, r => r.Received.Server == "b");
        Assert.Equal(0, clientA.Statistics.UnmatchedReplies + clientB.Statistics.UnmatchedReplies);
        Assert.Equal(0, clientA.Statistics.MalformedReplies + clientB.Statistics.MalformedReplies);
        // A server counts a reply once its producer has read the broker's acknowledgement, which may come after the
        // caller has already fetched that reply: the last replies are counted a moment after the last call returned.
        await Conditions.WaitUntilAsync(() => Sent(serverA) + Sent(serverB) >= 2 * perClient, TimeSpan.FromSeconds(30),
            "the servers counting every reply as acknowledged (or failed)", ct);
        Assert.Equal(2 * perClient, serverA.Statistics.Replies + serverB.Statistics.Replies);
        Assert.Equal(0, serverA.Statistics.ReplyFailures + serverB.Statistics.ReplyFailures);

        async Task<(Call, Answer)> CallAsync(RpcClient client, int id, int index)
        {
            var call = new Call(id, index, Guid.NewGuid().ToString("N"));
            // Keyed, so the calls spread over every request partition (null keys stick to one partition per batch).
            var key = System.Text.Encoding.UTF8.GetBytes(call.Value);
            var answer = await client.CallAsync<Call, Answer>(requests, "Echo", call, new RpcCallOptions { Timeout = TimeSpan.FromSeconds(60), Key = key }, ct);
            return (call, answer);
        }

        static long Sent(RpcServer server) => server.Statistics.Replies + server.Statistics.ReplyFailures;
    }

    [Fact(Timeout = 120_000)]
    public async Task Each_failure_reaches_the_caller_as_its_status()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await ServerTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        await using var server = new RpcServer(ServerTestSupport.Options(broker.BootstrapServers, requests, ServerTestSupport.NewGroup(), "s"));
        server.Map<Call, Answer>("Echo", (call, _) => ValueTask.FromResult(new Answer(call.Client, call.Index, call.Value, "s")))
            .Map<Call, Answer>("Throw", (_, _) => throw new InvalidOperationException("the ledger is closed"))
            .Map<Call, Answer>("Deny", (_, _) => throw new RpcException(RpcStatus.PermissionDenied, "not for you"));
        await server.StartAsync(ct);
        await ServerTestSupport.AssignedAsync(ct, server);
        await using var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies));
        var call = new Call(1, 1, "x");

        var thrown = await Assert.ThrowsAsync<RpcException>(() => client.CallAsync<Call, Answer>(requests, "Throw", call, cancellationToken: ct).AsTask());
        var denied = await Assert.ThrowsAsync<RpcException>(() => client.CallAsync<Call, Answer>(requests, "Deny", call, cancellationToken: ct).AsTask());
        var unknown = await Assert.ThrowsAsync<RpcException>(() => client.CallAsync<Call, Answer>(requests, "Nope", call, cancellationToken: ct).AsTask());
        var malformed = await Assert.ThrowsAsync<RpcException>(() => client.CallAsync<string, Answer>(requests, "Echo", "not an object", cancellationToken: ct).AsTask());
        var fine = await client.CallAsync<Call, Answer>(requests, "Echo", call, cancellationToken: ct);

        Assert.Equal(RpcStatus.Internal, thrown.Status);
        Assert.Equal("InvalidOperationException: the ledger is closed", thrown.Detail);
        Assert.Equal(RpcStatus.PermissionDenied, denied.Status);
        Assert.Equal("not for you", denied.Detail);
        Assert.Equal(RpcStatus.Unimplemented, unknown.Status);
        Assert.Equal(RpcStatus.InvalidArgument, malformed.Status);
        Assert.Equal("x", fine.Value);
        Assert.Equal(1, server.Statistics.Unimplemented);
    }

    [Fact(Timeout = 120_000)]
    public async Task Requests_that_expire_while_queued_are_skipped_without_running_their_handler()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await ServerTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var ran = new ConcurrentBag<int>();
        // One request at a time: while the first waits at the gate, the server takes nothing more.
        await using var server = new RpcServer(ServerTestSupport.Options(broker.BootstrapServers, requests, ServerTestSupport.NewGroup(), "s",
            o => o.MaxConcurrentRequests = 1));
        server.Map<Call, Answer>("Work", async (call, _) =>
        {
            ran.Add(call.Index);
            if (call.Index == 0)
            {
                await gate.Task;
            }

            return new Answer(call.Client, call.Index, call.Value, "s");
        });
        await server.StartAsync(ct);
        await ServerTestSupport.AssignedAsync(ct, server);
        await using var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies));

        var blocker = client.CallAsync<Call, Answer>(requests, "Work", new Call(1, 0, "first"), new RpcCallOptions { Timeout = TimeSpan.FromSeconds(60) }, ct).AsTask();
        await Conditions.WaitUntilAsync(() => ran.Contains(0), TimeSpan.FromSeconds(30), "the first request runs", ct);
        const int queued = 20;
        var expiring = Enumerable.Range(1, queued).Select(i =>
            client.CallAsync<Call, Answer>(requests, "Work", new Call(1, i, "late"), new RpcCallOptions { Timeout = TimeSpan.FromMilliseconds(300) }, ct).AsTask()).ToList();
        foreach (var call in expiring)
        {
            var error = await Assert.ThrowsAsync<RpcException>(() => call);
            Assert.Equal(RpcStatus.DeadlineExceeded, error.Status);
        }

        gate.SetResult();
        await blocker;
        await Conditions.WaitUntilAsync(() => server.Statistics.Expired == queued, TimeSpan.FromSeconds(30), "every queued request is skipped as expired", ct);

        Assert.Equal([0], ran.ToArray());
        Assert.Equal(1, server.Statistics.Handled);
        // A request leaves the in-flight count after its reply's acknowledgement (which may come after the caller read
        // the reply), a skipped one just after it was counted as expired.
        await Conditions.WaitUntilAsync(() => server.Statistics.InFlight == 0, TimeSpan.FromSeconds(30), "no request in flight", ct);
    }

    [Fact(Timeout = 120_000)]
    public async Task Disposing_with_calls_in_flight_answers_every_one_of_them()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await ServerTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        var started = 0;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = new RpcServer(ServerTestSupport.Options(broker.BootstrapServers, requests, ServerTestSupport.NewGroup(), "s"));
        server.Map<Call, Answer>("Slow", async (call, context) =>
        {
            Interlocked.Increment(ref started);
            await release.Task.WaitAsync(context.CancellationToken); // fires only if the server gives up draining
            return new Answer(call.Client, call.Index, call.Value, "s");
        });
        await server.StartAsync(ct);
        await ServerTestSupport.AssignedAsync(ct, server);
        await using var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies));

        const int count = 50;
        var calls = Enumerable.Range(0, count).Select(i =>
            client.CallAsync<Call, Answer>(requests, "Slow", new Call(1, i, "v" + i), new RpcCallOptions { Timeout = TimeSpan.FromSeconds(60) }, ct).AsTask()).ToList();
        await Conditions.WaitUntilAsync(() => Volatile.Read(ref started) == count, TimeSpan.FromSeconds(30), "every handler runs", ct);

        var disposing = server.DisposeAsync().AsTask();
        // A negative check needs a window: a server that did not drain would have stopped, left and closed its producer
        // well within it (the handlers' replies would then fail), one that drains is still waiting at its end.
        await Task.WhenAny(disposing, Task.Delay(TimeSpan.FromSeconds(3), ct));
        Assert.False(disposing.IsCompleted, "disposal returned while handlers were still running");
        release.SetResult();
        await disposing;

        var answers = await Task.WhenAll(calls);
        Assert.Equal(Enumerable.Range(0, count).Select(i => "v" + i), answers.Select(a => a.Value));
        Assert.Equal(count, server.Statistics.Replies);
    }

    [Fact(Timeout = 180_000)]
    public async Task A_server_that_stops_mid_load_without_leaving_costs_only_deadlines_and_the_other_takes_over()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await ServerTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        var group = ServerTestSupport.NewGroup();
        await using var survivor = EchoServer(broker, requests, group, "a");
        // The crashed one is dropped by the group once it has not polled for its max poll interval.
        await using var crashed = EchoServer(broker, requests, group, "b", o => o.Consumer.MaxPollInterval = TimeSpan.FromSeconds(3));
        await survivor.StartAsync(ct);
        await crashed.StartAsync(ct);
        await ServerTestSupport.AssignedAsync(ct, survivor, crashed);
        await using var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies));
        var timeout = TimeSpan.FromSeconds(2);

        var outcomes = new ConcurrentBag<RpcStatus>();
        using var stopLoad = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var load = Enumerable.Range(0, 16).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; !stopLoad.IsCancellationRequested; i++)
            {
                var call = new Call(worker, i, worker + "-" + i);
                try
                {
                    // Never hangs: every call ends by its deadline (plus the client's sweep), bounded here to be sure.
                    var key = System.Text.Encoding.UTF8.GetBytes(call.Value); // spread over every partition, the crashed one's included
                    var answer = await client.CallAsync<Call, Answer>(requests, "Echo", call, new RpcCallOptions { Timeout = timeout, Key = key }, ct)
                        .AsTask().WaitAsync(timeout + TimeSpan.FromSeconds(5), ct);
                    Assert.Equal(call.Value, answer.Value);
                    outcomes.Add(RpcStatus.Ok);
                }
                catch (RpcException ex)
                {
                    outcomes.Add(ex.Status);
                }
            }
        }, ct)).ToList();

        await Conditions.WaitUntilAsync(() => outcomes.Count > 200, TimeSpan.FromSeconds(30), "load runs", ct);
        await crashed.CrashAsync();
        await Conditions.WaitUntilAsync(() => survivor.Assignment.Count == ServerTestSupport.RequestPartitions, TimeSpan.FromSeconds(60),
            "the survivor owns every partition", ct);
        var afterRebalance = outcomes.Count;
        await Conditions.WaitUntilAsync(() => outcomes.Count > afterRebalance + 200, TimeSpan.FromSeconds(30), "load goes on after the rebalance", ct);
        await stopLoad.CancelAsync();
        await Task.WhenAll(load);

        Assert.All(outcomes, status => Assert.True(status is RpcStatus.Ok or RpcStatus.DeadlineExceeded, status.ToString()));
        Assert.Contains(RpcStatus.DeadlineExceeded, outcomes);

        // After the rebalance every call succeeds again.
        var after = await Task.WhenAll(Enumerable.Range(0, 100).Select(i =>
            client.CallAsync<Call, Answer>(requests, "Echo", new Call(9, i, "after-" + i), new RpcCallOptions { Timeout = TimeSpan.FromSeconds(20) }, ct).AsTask()));
        Assert.Equal(Enumerable.Range(0, 100).Select(i => "after-" + i), after.Select(a => a.Value));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_full_method_holds_only_its_own_partition_and_its_requests_run_once_a_slot_frees()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await ServerTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var slowRunning = 0;
        var slowMost = 0;
        await using var server = new RpcServer(ServerTestSupport.Options(broker.BootstrapServers, requests, ServerTestSupport.NewGroup(), "s",
            o => o.MethodConcurrency["Slow"] = 1));
        server.Map<Call, Answer>("Slow", async (call, _) =>
        {
            var running = Interlocked.Increment(ref slowRunning);
            InterlockedMax(ref slowMost, running);
            await gate.Task;
            Interlocked.Decrement(ref slowRunning);
            return new Answer(call.Client, call.Index, call.Value, "s");
        }).Map<Call, Answer>("Fast", (call, _) => ValueTask.FromResult(new Answer(call.Client, call.Index, call.Value, "s")));
        await server.StartAsync(ct);
        await ServerTestSupport.AssignedAsync(ct, server);
        await using var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies));
        var options = new RpcCallOptions { Timeout = TimeSpan.FromSeconds(60), Key = "slow"u8.ToArray() };

        // Three slow calls on one key (one partition): the first runs, the second parks its partition.
        var slow = Enumerable.Range(0, 3).Select(i => client.CallAsync<Call, Answer>(requests, "Slow", new Call(1, i, "slow" + i), options, ct).AsTask()).ToList();
        await Conditions.WaitUntilAsync(() => Volatile.Read(ref slowRunning) == 1, TimeSpan.FromSeconds(30), "the first slow call runs", ct);
        var fast = Enumerable.Range(0, 40).Select(i => client.CallAsync<Call, Answer>(requests, "Fast", new Call(2, i, "fast" + i),
            new RpcCallOptions { Timeout = TimeSpan.FromSeconds(60), Key = System.Text.Encoding.UTF8.GetBytes("fast-key-" + i) }, ct).AsTask()).ToList();

        // Fast calls on the other partitions are answered while the slow method is full.
        await Conditions.WaitUntilAsync(() => fast.Count(t => t.IsCompletedSuccessfully) >= 10, TimeSpan.FromSeconds(30), "fast calls on other partitions answered", ct);
        Assert.All(slow, t => Assert.False(t.IsCompleted));
        Assert.Equal(1, Volatile.Read(ref slowRunning));

        gate.SetResult();
        var slowAnswers = await Task.WhenAll(slow);
        var fastAnswers = await Task.WhenAll(fast);

        Assert.Equal(["slow0", "slow1", "slow2"], slowAnswers.Select(a => a.Value));
        Assert.Equal(40, fastAnswers.Length);
        Assert.Equal(1, slowMost);
    }

    [Fact(Timeout = 120_000)]
    public async Task With_key_order_requests_of_one_key_run_one_after_another_in_order()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await ServerTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        var running = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var overlaps = 0;
        var order = new ConcurrentQueue<string>();
        await using var server = new RpcServer(ServerTestSupport.Options(broker.BootstrapServers, requests, ServerTestSupport.NewGroup(), "s",
            o => o.PreserveKeyOrder = true));
        server.Map<Call, Answer>("Step", async (call, context) =>
        {
            var key = System.Text.Encoding.UTF8.GetString(context.Key!.Value.Span);
            if (running.AddOrUpdate(key, 1, (_, n) => n + 1) > 1)
            {
                Interlocked.Increment(ref overlaps);
            }

            order.Enqueue(call.Value);
            await Task.Delay(2, ct);
            running.AddOrUpdate(key, 0, (_, n) => n - 1);
            return new Answer(call.Client, call.Index, call.Value, "s");
        });
        await server.StartAsync(ct);
        await ServerTestSupport.AssignedAsync(ct, server);
        await using var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies));

        var calls = new List<Task<Answer>>();
        for (var i = 0; i < 30; i++)
        {
            foreach (var key in new[] { "a", "b", "c" })
            {
                calls.Add(client.CallAsync<Call, Answer>(requests, "Step", new Call(1, i, key + i),
                    new RpcCallOptions { Timeout = TimeSpan.FromSeconds(60), Key = System.Text.Encoding.UTF8.GetBytes(key) }, ct).AsTask());
            }
        }

        await Task.WhenAll(calls);

        Assert.Equal(0, overlaps);
        foreach (var key in new[] { "a", "b", "c" })
        {
            Assert.Equal(Enumerable.Range(0, 30).Select(i => key + i), order.Where(v => v.StartsWith(key, StringComparison.Ordinal)));
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task A_reply_over_the_producers_size_limit_fails_the_call_at_once_with_ResourceExhausted()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await ServerTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        await using var server = new RpcServer(ServerTestSupport.Options(broker.BootstrapServers, requests, ServerTestSupport.NewGroup(), "s", o =>
        {
            o.Producer.MaxRequestSize = 16 * 1024;
            o.Producer.BatchSize = 16 * 1024;
        }));
        server.MapRaw("Big", static (_, _) => ValueTask.FromResult<ReadOnlyMemory<byte>>(new byte[64 * 1024]));
        server.MapRaw("Small", static (payload, _) => ValueTask.FromResult(payload));
        await server.StartAsync(ct);
        await ServerTestSupport.AssignedAsync(ct, server);
        await using var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies));
        var options = new RpcCallOptions { Timeout = TimeSpan.FromSeconds(30) };

        var watch = System.Diagnostics.Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<RpcException>(() => client.CallAsync(requests, "Big", new byte[] { 1 }, options, ct).AsTask());
        watch.Stop();

        // Answered with the reason, not left to the caller's deadline; the server goes on answering.
        Assert.Equal(RpcStatus.ResourceExhausted, error.Status);
        Assert.Contains("reply", error.Message, StringComparison.Ordinal);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), "answered after " + watch.Elapsed);
        Assert.Equal(new byte[] { 2 }, await client.CallAsync(requests, "Small", new byte[] { 2 }, options, ct));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_reply_the_broker_refuses_as_too_large_fails_the_call_at_once_with_ResourceExhausted()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await ServerTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        var faults = broker.Faults;
        Assert.SkipWhen(faults is null, "Produce errors are injected on the embedded broker only.");
        await using var server = new RpcServer(ServerTestSupport.Options(broker.BootstrapServers, requests, ServerTestSupport.NewGroup(), "s"));
        server.MapRaw("Echo", static (payload, _) => ValueTask.FromResult(payload));
        server.MapRaw("Refused", (payload, _) =>
        {
            // The request was written (this server read it): the next Produce is this handler's reply, which the broker
            // refuses as over the reply topic's max.message.bytes.
            faults.PushRequestErrors(ApiKey.Produce, ErrorCode.MessageTooLarge);
            return ValueTask.FromResult(payload);
        });
        await server.StartAsync(ct);
        await ServerTestSupport.AssignedAsync(ct, server);
        await using var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies));
        var options = new RpcCallOptions { Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal(new byte[] { 1 }, await client.CallAsync(requests, "Echo", new byte[] { 1 }, options, ct)); // both topics warm: the reply takes the producer's fast path

        var error = await Assert.ThrowsAsync<RpcException>(() => client.CallAsync(requests, "Refused", new byte[] { 2 }, options, ct).AsTask());

        // Answered with the reason, not left to the caller's deadline; the server goes on answering.
        Assert.Equal(RpcStatus.ResourceExhausted, error.Status);
        Assert.Contains("reply", error.Message, StringComparison.Ordinal);
        Assert.Equal(new byte[] { 3 }, await client.CallAsync(requests, "Echo", new byte[] { 3 }, options, ct));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_handler_error_whose_message_is_larger_than_a_reply_may_be_reaches_the_caller_with_its_status()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await ServerTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        await using var server = new RpcServer(ServerTestSupport.Options(broker.BootstrapServers, requests, ServerTestSupport.NewGroup(), "s"));
        // A validation message that quotes the whole (large) input: larger than the reply producer's 1 MB max.request.size.
        server.MapRaw("Validate", static (_, _) => throw new RpcException(RpcStatus.InvalidArgument, "bad input: " + new string('x', 2_000_000)));
        await server.StartAsync(ct);
        await ServerTestSupport.AssignedAsync(ct, server);
        await using var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies));
        var options = new RpcCallOptions { Timeout = TimeSpan.FromSeconds(10) };

        var error = await Assert.ThrowsAsync<RpcException>(() => client.CallAsync(requests, "Validate", new byte[] { 1 }, options, ct).AsTask());

        // Answered with its status and the start of its message, not left to the caller's deadline.
        Assert.Equal(RpcStatus.InvalidArgument, error.Status);
        Assert.StartsWith("bad input: xxx", error.Detail, StringComparison.Ordinal);
        Assert.Equal(RequestDispatcher.MaxErrorMessageChars, error.Detail.Length);
        Assert.Equal(0, server.Statistics.ReplyFailures);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        for (var current = Volatile.Read(ref target); value > current; current = Volatile.Read(ref target))
        {
            if (Interlocked.CompareExchange(ref target, value, current) == current)
            {
                return;
            }
        }
    }

    private static RpcServer EchoServer(ITestBroker broker, string requests, string group, string name, Action<RpcServerOptions>? configure = null)
    {
        var server = new RpcServer(ServerTestSupport.Options(broker.BootstrapServers, requests, group, name, configure));
        server.Map<Call, Answer>("Echo", (call, _) => ValueTask.FromResult(new Answer(call.Client, call.Index, call.Value, name)));
        return server;
    }
}
