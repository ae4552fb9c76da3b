using System.Diagnostics;
using System.Text;
using Messaging.Rpc.Tests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.Rpc.Tests.Client;

/// <summary>Calls through a real (embedded) broker to a test replier that follows Spring's conventions.</summary>
public sealed class RpcClientCallTests(TestBrokerFixture fixture)
{
    public sealed record Ping(int Client, int Index, string Text);

    [Fact(Timeout = 120_000)]
    public async Task Concurrent_calls_from_two_clients_sharing_a_reply_partition_each_get_their_own_reply()
    {
        var ct = TestContext.Current.CancellationToken;
        // Both clients read partition 0: each sees the other's replies and must keep only its own.
        await using var rpc = await RpcHarness.StartAsync(fixture, o => o.ReplyPartition = 0, ct);
        await using var b = rpc.NewClient(o => o.ReplyPartition = 0);
        var (requests, replier, a) = (rpc.Requests, rpc.Replier, rpc.Client);
        await Task.WhenAll(a.StartAsync(ct), b.StartAsync(ct));

        const int perClient = 500;
        var calls = new List<Task<(Ping Sent, Ping Received)>>();
        for (var i = 0; i < perClient; i++)
        {
            calls.Add(CallAsync(a, 1, i));
            calls.Add(CallAsync(b, 2, i));
        }

        var results = await Task.WhenAll(calls);

        foreach (var (sent, received) in results)
        {
            Assert.Equal(sent, received);
        }

        Assert.Equal(2 * perClient, replier.Received);
        Assert.Equal(0, a.PendingEntries);
        Assert.Equal(0, b.PendingEntries);
        Assert.Equal(perClient, a.Statistics.CompletedCalls);
        // Each sees the other's replies on the shared partition, and only those, as unmatched.
        await Conditions.WaitUntilAsync(() => a.Statistics.UnmatchedReplies == perClient && b.Statistics.UnmatchedReplies == perClient,
            TimeSpan.FromSeconds(20), "each client has dropped the other's replies", ct);
        Assert.Equal(0, a.Statistics.MalformedReplies);

        async Task<(Ping, Ping)> CallAsync(RpcClient client, int id, int index)
        {
            var ping = new Ping(id, index, "payload-" + id + "-" + index);
            var pong = await client.CallAsync<Ping, Ping>(requests, "echo", ping, new RpcCallOptions { Key = Encoding.UTF8.GetBytes("k" + index) }, ct);
            return (ping, pong);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_raw_call_round_trips_bytes_and_the_request_carries_its_deadline()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, null, ct);
        var (requests, replier, client) = (rpc.Requests, rpc.Replier, rpc.Client);
        var deadline = DateTimeOffset.UtcNow.AddSeconds(20);

        var reply = await client.CallAsync(requests, "echo", new byte[] { 1, 2, 3, 0, 255 }, new RpcCallOptions { Deadline = deadline }, ct);

        Assert.Equal(new byte[] { 1, 2, 3, 0, 255 }, reply);
        Assert.True(replier.Deadlines.TryPeek(out var sentDeadline));
        Assert.Equal(deadline.ToUnixTimeMilliseconds(), sentDeadline);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_call_without_a_reply_fails_with_DeadlineExceeded_at_its_timeout()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, null, ct);
        var (requests, replier, client) = (rpc.Requests, rpc.Replier, rpc.Client);
        await client.StartAsync(ct);
        // The request topic's metadata and the producer's connection in place first: the 500 ms below are for the
        // request's acknowledgement, not also for that set-up, which a loaded machine can stretch past them.
        await client.CallAsync<Ping, Ping>(requests, "echo", new Ping(0, 0, "warm"), default, ct);
        var timeout = TimeSpan.FromMilliseconds(500);

        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            client.CallAsync<Ping, Ping>(requests, "ignore", new Ping(1, 1, "x"), new RpcCallOptions { Timeout = timeout }, ct).AsTask());
        watch.Stop();

        Assert.Equal(RpcStatus.DeadlineExceeded, error.Status);
        Assert.Equal("ignore", error.Method);
        Assert.Equal(requests, error.Topic);
        Assert.NotEqual(Guid.Empty, error.CorrelationId);
        Assert.True(error.RequestAcknowledged, "the broker acknowledged the request well within the timeout");
        Assert.InRange(error.Elapsed, timeout, timeout + TimeSpan.FromSeconds(3));
        Assert.InRange(watch.Elapsed, timeout, timeout + TimeSpan.FromSeconds(3));
        Assert.Contains(error.CorrelationId.ToString(), error.Message, StringComparison.Ordinal);
        Assert.Equal(0, client.PendingEntries);
        Assert.Equal(1, client.Statistics.DeadlinesExceeded);
    }

    [Fact(Timeout = 60_000)]
    public async Task Cancelling_a_call_fails_it_with_Cancelled_at_once()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, null, ct);
        var (requests, replier, client) = (rpc.Requests, rpc.Replier, rpc.Client);
        await client.StartAsync(ct);
        using var cancel = new CancellationTokenSource();

        var call = client.CallAsync<Ping, Ping>(requests, "ignore", new Ping(1, 1, "x"), default, cancel.Token).AsTask();
        await Conditions.WaitUntilAsync(() => replier.Received == 1, TimeSpan.FromSeconds(10), "the request reached the replier", ct);
        var watch = Stopwatch.StartNew();
        await cancel.CancelAsync();
        var error = await Assert.ThrowsAsync<RpcException>(() => call);

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), "cancellation completes the call at once, not at its 30 s deadline");
        Assert.Equal(RpcStatus.Cancelled, error.Status);
        Assert.IsType<OperationCanceledException>(error.InnerException);
        Assert.Equal(0, client.PendingEntries);
        Assert.Equal(0, client.Statistics.PendingCalls);
    }

    [Fact(Timeout = 60_000)]
    public async Task An_error_status_from_the_replier_surfaces_with_its_message()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, null, ct);
        var (requests, replier, client) = (rpc.Requests, rpc.Replier, rpc.Client);

        var error = await Assert.ThrowsAsync<RpcException>(() => client.CallAsync<Ping, Ping>(requests, "fail", new Ping(1, 1, "x"), default, ct).AsTask());

        Assert.Equal(RpcStatus.Internal, error.Status);
        Assert.Equal("boom: fail", error.Detail);
        Assert.True(error.RequestAcknowledged);
        Assert.Equal(0, client.PendingEntries);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_duplicate_reply_is_dropped_and_counted()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, null, ct);
        var (requests, replier, client) = (rpc.Requests, rpc.Replier, rpc.Client);

        var pong = await client.CallAsync<Ping, Ping>(requests, "twice", new Ping(1, 7, "dup"), default, ct);

        Assert.Equal(new Ping(1, 7, "dup"), pong);
        await Conditions.WaitUntilAsync(() => client.Statistics.UnmatchedReplies == 1, TimeSpan.FromSeconds(10), "the second reply was dropped", ct);
        Assert.Equal(1, client.Statistics.CompletedCalls);
    }

    [Fact(Timeout = 60_000)]
    public async Task An_oversized_request_fails_with_ResourceExhausted_before_it_is_produced()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, o => o.MaxRequestBytes = 1000, ct);
        var (requests, replier, client) = (rpc.Requests, rpc.Replier, rpc.Client);

        var typed = await Assert.ThrowsAsync<RpcException>(() =>
            client.CallAsync<Ping, Ping>(requests, "echo", new Ping(1, 1, new string('x', 2000)), default, ct).AsTask());
        var raw = await Assert.ThrowsAsync<RpcException>(() => client.CallAsync(requests, "echo", new byte[1001], default, ct).AsTask());
        var fits = await client.CallAsync(requests, "echo", new byte[1000], default, ct);

        Assert.Equal(RpcStatus.ResourceExhausted, typed.Status);
        Assert.Equal(RpcStatus.ResourceExhausted, raw.Status);
        Assert.Contains("MaxRequestBytes", raw.Message, StringComparison.Ordinal);
        Assert.False(raw.RequestAcknowledged);
        Assert.Equal(1000, fits.Length);
        Assert.Equal(1, replier.Received); // only the call that fits was produced
        Assert.Equal(0, client.PendingEntries);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_request_topic_that_does_not_exist_fails_fast_with_Unavailable()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, _, replies) = await RpcTestSupport.BrokerAsync(fixture, ct);
        await using var __ = broker;
        await using var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies));
        await client.StartAsync(ct);
        var missing = TestBrokerFixture.UniqueTopicName("no-such-service");

        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<RpcException>(() => client.CallAsync<Ping, Ping>(missing, "echo", new Ping(1, 1, "x"), default, ct).AsTask());
        var oneWay = await Assert.ThrowsAsync<RpcException>(() => client.SendAsync(missing, "echo", new Ping(1, 1, "x"), default, ct).AsTask());

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), "a missing topic fails at once, not at the 30 s deadline; took " + watch.Elapsed);
        Assert.Equal(RpcStatus.Unavailable, error.Status);
        Assert.Equal(RpcStatus.Unavailable, oneWay.Status);
        Assert.Equal(missing, error.Topic);
        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, client.PendingEntries);
    }

    [Fact(Timeout = 60_000)]
    public async Task Caller_headers_named_as_rpc_headers_do_not_replace_the_requests_own()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, null, ct);
        var (requests, replier, client) = (rpc.Requests, rpc.Replier, rpc.Client);
        var elsewhere = "other-replies-" + Guid.NewGuid().ToString("N")[..8];
        await rpc.Broker.CreateTopicAsync(elsewhere, 2, cancellationToken: ct);
        // A handler passing its own request's headers on to the call it makes: they include that request's RPC headers.
        var forwarded = new List<RecordHeader>
        {
            new("kafka_correlationId", Guid.NewGuid().ToByteArray()),
            new("kafka_replyTopic", Encoding.UTF8.GetBytes(elsewhere)),
            new("kafka_replyPartition", new byte[] { 0, 0, 0, 1 }),
            new("messaging_rpc_method", "Upstream"u8.ToArray()),
            new("messaging_rpc_deadline", new byte[8]),
            new("messaging_rpc_content_type", "application/json"u8.ToArray()),
            new("x-tenant", "blue"u8.ToArray()),
        };
        var options = new RpcCallOptions { Timeout = TimeSpan.FromSeconds(5), Headers = forwarded };

        var reply = await client.CallAsync(requests, "echo", new byte[] { 7 }, options, ct);
        await client.SendAsync(requests, "notify", new byte[] { 8 }, options, ct);
        await Conditions.WaitUntilAsync(() => replier.Received == 2, TimeSpan.FromSeconds(10), "the call and the one-way request arrived", ct);

        Assert.Equal(new byte[] { 7 }, reply);
        Assert.Equal(["echo", "notify"], replier.Methods.ToArray());
        var (call, oneWay) = (replier.Headers.First(), replier.Headers.Last()); // headers by name, the last occurrence of each
        Assert.Equal(rpc.Replies, Encoding.UTF8.GetString(call["kafka_replyTopic"]));
        Assert.Equal("application/octet-stream", Encoding.UTF8.GetString(call["messaging_rpc_content_type"]));
        Assert.Equal("blue"u8.ToArray(), call["x-tenant"]);
        Assert.False(oneWay.ContainsKey("kafka_correlationId"), "the one-way request carries a correlation ID");
        Assert.False(oneWay.ContainsKey("kafka_replyTopic"), "the one-way request carries a reply topic");
        Assert.Equal("blue"u8.ToArray(), oneWay["x-tenant"]);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_one_way_send_reaches_the_service_without_reply_headers()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, null, ct);
        var (requests, replier, client) = (rpc.Requests, rpc.Replier, rpc.Client);

        await client.SendAsync(requests, "notify", new Ping(1, 1, "fire and forget"), default, ct);
        await client.SendAsync(requests, "notify-raw", new byte[] { 9 }, default, ct);

        await Conditions.WaitUntilAsync(() => replier.Received == 2, TimeSpan.FromSeconds(10), "both one-way requests arrived", ct);
        // Keyless requests move to another partition with each new batch: no order holds between the two.
        Assert.Equal(["notify", "notify-raw"], replier.Methods.Order(StringComparer.Ordinal).ToArray());
        Assert.Null(client.ReplyTopic); // one-way sends never needed the reply consumer
    }

    [Fact(Timeout = 60_000)]
    public async Task A_raw_call_sends_its_payload_and_key_as_they_were_when_CallAsync_returned()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, null, ct);
        var (requests, replier, client) = (rpc.Requests, rpc.Replier, rpc.Client);
        var payload = new byte[] { 1, 2, 3 };
        var key = new byte[] { 7, 7 };

        // Not started yet: the call waits for its reply partitions before it sends. Payload and key are documented as
        // read before the call returns its first await, so the caller may reuse their buffers from here on.
        var call = client.CallAsync(requests, "echo", payload, new RpcCallOptions { Key = key }, ct);
        Assert.False(call.IsCompleted);
        payload.AsSpan().Fill(0xEE);
        key.AsSpan().Fill(0xEE);

        Assert.Equal(new byte[] { 1, 2, 3 }, await call);
        Assert.True(replier.Keys.TryPeek(out var sentKey));
        Assert.Equal(new byte[] { 7, 7 }, sentKey);
    }

    public sealed class MutablePing
    {
        public string Text { get; set; } = "";
    }

    [Fact(Timeout = 60_000)]
    public async Task A_typed_call_sends_its_request_as_it_was_when_CallAsync_returned()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, null, ct);
        var request = new MutablePing { Text = "before" };

        // Not started yet: the call waits before it sends; the request is documented as encoded before the first await.
        var call = rpc.Client.CallAsync<MutablePing, MutablePing>(rpc.Requests, "echo", request, default, ct);
        Assert.False(call.IsCompleted);
        request.Text = "after";

        Assert.Equal("before", (await call).Text);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_one_way_send_sends_its_request_and_key_as_they_were_when_SendAsync_returned()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, null, ct);
        var request = new MutablePing { Text = "before" };
        var key = new byte[] { 7, 7 };

        // The request topic is not known yet: the send looks it up before it produces.
        var send = rpc.Client.SendAsync(rpc.Requests, "notify", request, new RpcCallOptions { Key = key }, ct);
        Assert.False(send.IsCompleted);
        request.Text = "after";
        key.AsSpan().Fill(0xEE);
        await send;

        await Conditions.WaitUntilAsync(() => rpc.Replier.Received == 1, TimeSpan.FromSeconds(10), "the one-way request arrived", ct);
        Assert.True(rpc.Replier.Values.TryPeek(out var sent));
        Assert.Equal("""{"text":"before"}""", Encoding.UTF8.GetString(sent));
        Assert.True(rpc.Replier.Keys.TryPeek(out var sentKey));
        Assert.Equal(new byte[] { 7, 7 }, sentKey);
    }
}
