using System.Buffers.Binary;
using Messaging.Rpc.Tests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.Rpc.Tests.Client;

/// <summary>
/// Calls made one after another (none awaited before the next is made) send their requests in that order — as
/// records produced one after another keep their order — also while the first of them wait for the client's start,
/// the request topic's lookup or room in the client's bounds and later ones could go at once. A server that runs
/// requests of one key in order (<see cref="RpcServerOptions.PreserveKeyOrder"/>) relies on it.
/// </summary>
public sealed class CallOrderTests(TestBrokerFixture fixture)
{
    [Fact(Timeout = 120_000)]
    public async Task Calls_made_one_after_another_through_the_start_and_the_first_lookup_send_their_requests_in_order()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await RpcTestSupport.BrokerAsync(fixture, ct, requestPartitions: 1);
        await using var _ = broker;
        await using var replier = TestReplier.Start(broker.BootstrapServers, requests, 1);
        await using var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies, o => o.MaxPendingCalls = 50_000));

        // Calls go on being made while the first ones wait for the start and the lookup and are then let go: the
        // window where a new call could overtake the waiting ones.
        var key = "k"u8.ToArray();
        var count = await MakeInSequenceAsync(i => client.CallAsync(requests, "echo", Payload(i), new RpcCallOptions { Key = key, Timeout = TimeSpan.FromSeconds(60) }, ct).AsTask());
        await AssertSentInOrderAsync(broker.BootstrapServers, requests, count, ct);
    }

    [Fact(Timeout = 120_000)]
    public async Task Calls_beyond_the_pending_call_bound_wait_for_room_and_still_send_in_the_order_they_were_made()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await RpcTestSupport.BrokerAsync(fixture, ct, requestPartitions: 1);
        await using var _ = broker;
        await using var replier = TestReplier.Start(broker.BootstrapServers, requests, 1);
        await using var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies, o => o.MaxPendingCalls = 4));
        await client.StartAsync(ct);
        Assert.Equal(Payload(-1), await client.CallAsync(requests, "echo", Payload(-1), default, ct)); // the topic is known and warm

        // Four calls at a time: most calls wait for room, and every reply that frees room races the next call made.
        var key = "k"u8.ToArray();
        var calls = new List<Task<byte[]>>();
        for (var i = 0; i < 2000; i++)
        {
            calls.Add(client.CallAsync(requests, "echo", Payload(i), new RpcCallOptions { Key = key, Timeout = TimeSpan.FromSeconds(60) }, ct).AsTask());
            if (i % 16 == 15)
            {
                await Task.Yield();
            }
        }

        await Task.WhenAll(calls);
        await AssertSentInOrderAsync(broker.BootstrapServers, requests, calls.Count, ct, first: 1);
    }

    [Fact(Timeout = 120_000)]
    public async Task One_way_sends_made_one_after_another_through_the_first_lookup_are_written_in_order()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await RpcTestSupport.BrokerAsync(fixture, ct, requestPartitions: 1);
        await using var _ = broker;
        await using var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies));

        var key = "k"u8.ToArray();
        var count = await MakeInSequenceAsync(i => client.SendAsync(requests, "note", (ReadOnlyMemory<byte>)Payload(i), new RpcCallOptions { Key = key, Timeout = TimeSpan.FromSeconds(60) }, ct).AsTask());
        await AssertSentInOrderAsync(broker.BootstrapServers, requests, count, ct);
    }

    [Fact(Timeout = 60_000)]
    public async Task Calls_waiting_behind_a_call_that_waits_fail_as_disposed_when_the_client_is_disposed_and_leave_nothing_queued()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await RpcTestSupport.BrokerAsync(fixture, ct, requestPartitions: 1);
        await using var _ = broker;
        var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies, o => o.MaxPendingCalls = 1));
        await client.StartAsync(ct);

        // Nobody answers: the first call holds the only room; the second waits for room, the others for their turn behind it.
        var first = client.CallAsync(requests, "none", Payload(0), new RpcCallOptions { Timeout = TimeSpan.FromSeconds(50) }, ct).AsTask();
        var waiting = new List<Task<byte[]>>();
        for (var i = 1; i <= 20; i++)
        {
            waiting.Add(client.CallAsync(requests, "none", Payload(i), new RpcCallOptions { Timeout = TimeSpan.FromSeconds(50) }, ct).AsTask());
        }

        Assert.All(waiting, t => Assert.False(t.IsCompleted));
        await client.DisposeAsync();

        foreach (var call in waiting.Append(first))
        {
            var error = await Assert.ThrowsAsync<RpcException>(() => call.WaitAsync(TimeSpan.FromSeconds(5), ct));
            Assert.Equal(RpcStatus.Unavailable, error.Status);
            Assert.Contains("disposed", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_call_waiting_for_its_turn_ends_at_its_deadline_and_the_calls_behind_it_still_go()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await RpcTestSupport.BrokerAsync(fixture, ct, requestPartitions: 1);
        await using var _ = broker;
        await using var replier = TestReplier.Start(broker.BootstrapServers, requests, 1);
        await using var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies, o => o.MaxPendingCalls = 1));
        await client.StartAsync(ct);
        Assert.Equal(Payload(-1), await client.CallAsync(requests, "echo", Payload(-1), default, ct));

        // The one room is held by a call nobody answers for 3 s; the call behind it gives up after 300 ms; the one after that waits its 30 s.
        var held = client.CallAsync(requests, "ignore", Payload(0), new RpcCallOptions { Timeout = TimeSpan.FromSeconds(3) }, ct).AsTask();
        var shortCall = client.CallAsync(requests, "echo", Payload(1), new RpcCallOptions { Timeout = TimeSpan.FromMilliseconds(300) }, ct).AsTask();
        var longCall = client.CallAsync(requests, "echo", Payload(2), new RpcCallOptions { Timeout = TimeSpan.FromSeconds(30) }, ct).AsTask();

        var expired = await Assert.ThrowsAsync<RpcException>(() => shortCall.WaitAsync(TimeSpan.FromSeconds(10), ct));
        Assert.True(expired.Status is RpcStatus.DeadlineExceeded or RpcStatus.ResourceExhausted, expired.Status + ": " + expired.Message);
        Assert.Equal(RpcStatus.DeadlineExceeded, (await Assert.ThrowsAsync<RpcException>(() => held.WaitAsync(TimeSpan.FromSeconds(10), ct))).Status);
        Assert.Equal(Payload(2), await longCall.WaitAsync(TimeSpan.FromSeconds(20), ct));
    }

    /// <summary>
    /// Makes calls one after another (each after the previous one returned) until the first has completed and a
    /// thousand more were made (at most 40,000), then waits for them all; returns how many were made.
    /// </summary>
    private static async Task<int> MakeInSequenceAsync(Func<int, Task> make)
    {
        var calls = new List<Task>();
        var stopAt = int.MaxValue;
        for (var i = 0; i < 40_000 && i < stopAt; i++)
        {
            calls.Add(make(i));
            if (i % 16 == 15)
            {
                await Task.Yield(); // the next call is still made after this one returned: one sequence of calls
            }

            if (stopAt == int.MaxValue && calls[0].IsCompleted)
            {
                stopAt = i + 1000;
            }
        }

        await Task.WhenAll(calls);
        return calls.Count;
    }

    private static byte[] Payload(int i)
    {
        var payload = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(payload, i);
        return payload;
    }

    /// <summary>The requests as the broker holds them (from offset <paramref name="first"/>) are calls 0 to count - 1, in that order.</summary>
    private static async Task AssertSentInOrderAsync(string bootstrap, string topic, int count, CancellationToken cancellationToken, long first = 0)
    {
        var sent = await ReadAsync(bootstrap, topic, first, count, cancellationToken);
        var outOfOrder = -1;
        for (var i = 0; i < sent.Count && outOfOrder < 0; i++)
        {
            if (sent[i] != i)
            {
                outOfOrder = i;
            }
        }

        Assert.True(outOfOrder < 0, $"of {count} calls, the request at offset {first + outOfOrder} is call {(outOfOrder < 0 ? 0 : sent[outOfOrder])}");
    }

    private static async Task<List<int>> ReadAsync(string bootstrap, string topic, long first, int count, CancellationToken cancellationToken)
    {
        await using var consumer = new KafkaConsumer(new KafkaConsumerOptions { BootstrapServers = bootstrap, FetchMaxWait = TimeSpan.FromMilliseconds(10) });
        consumer.Assign([new TopicPartitionOffset(topic, 0, first)]);
        var values = new List<int>(count);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        await foreach (var record in consumer.ConsumeRawAsync(timeout.Token))
        {
            values.Add(BinaryPrimitives.ReadInt32BigEndian(record.Value.Span));
            record.Recycle();
            if (values.Count == count)
            {
                break;
            }
        }

        return values;
    }
}
