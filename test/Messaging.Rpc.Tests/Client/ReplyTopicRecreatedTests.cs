using Messaging.Rpc.Tests.Server;
using Messaging.Rpc.Tests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.Rpc.Tests.Client;

/// <summary>
/// A reply topic deleted and created again under a running client: the client's position on its reply partition is
/// past the new log's end, and the replies written to the new log before the consumer notices are the ones its calls
/// wait for. Read from the new log's end, they were lost and every call made after timed out.
/// </summary>
public sealed class ReplyTopicRecreatedTests(TestBrokerFixture fixture)
{
    public sealed record Ping(int Index, string Text);

    [Fact(Timeout = 120_000)]
    public async Task A_reply_topic_deleted_and_created_again_loses_no_replies_to_calls_made_after()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, o => o.ReplyPartition = 0, ct);
        await WarmUpAsync(rpc.Client, rpc.Requests, ct);

        await rpc.Broker.DeleteTopicAsync(rpc.Replies, ct);
        await rpc.Broker.CreateTopicAsync(rpc.Replies, 2, 1, ct);

        await CallsAfterAsync(rpc.Client, rpc.Requests, ct);
        Assert.True(rpc.Client.Statistics.ConsumeErrors >= 1, "the position out of the new log's range is counted as a consume error"); // once on the embedded broker; a real broker may refuse a fetch or two while the topic is gone
    }

    [Fact(Timeout = 120_000)]
    public async Task A_reply_topic_deleted_and_created_again_under_our_server_and_client_loses_no_replies()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await ServerTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        await using var server = new RpcServer(ServerTestSupport.Options(broker.BootstrapServers, requests, ServerTestSupport.NewGroup(), "recreated-server"));
        server.Map<Ping, Ping>("echo", static (ping, _) => ValueTask.FromResult(ping));
        await server.StartAsync(ct);
        await ServerTestSupport.AssignedAsync(ct, server);
        await using var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies, o => o.ReplyPartition = 0));
        await WarmUpAsync(client, requests, ct);

        await broker.DeleteTopicAsync(replies, ct);
        await broker.CreateTopicAsync(replies, 2, 1, ct);

        // The server's idempotent producer meets a partition with no state for it, and replies on.
        await CallsAfterAsync(client, requests, ct);
    }

    /// <summary>Calls until the reply partition's position is past offset 0: the new log's end will be far behind it.</summary>
    private static async Task WarmUpAsync(RpcClient client, string requests, CancellationToken ct)
    {
        for (var i = 0; i < 30; i++)
        {
            Assert.Equal(new Ping(i, "warm"), await client.CallAsync<Ping, Ping>(requests, "echo", new Ping(i, "warm"), default, ct));
        }
    }

    /// <summary>Calls made after the topic is back, at once and then one by one: their replies land at the start of the new log.</summary>
    private static async Task CallsAfterAsync(RpcClient client, string requests, CancellationToken ct)
    {
        var options = new RpcCallOptions { Timeout = TimeSpan.FromSeconds(15) };
        var calls = Enumerable.Range(0, 5).Select(i => client.CallAsync<Ping, Ping>(requests, "echo", new Ping(i, "after"), options, ct).AsTask()).ToArray();
        Assert.Equal(Enumerable.Range(0, 5).Select(i => new Ping(i, "after")), await Task.WhenAll(calls));
        for (var i = 5; i < 10; i++)
        {
            Assert.Equal(new Ping(i, "after"), await client.CallAsync<Ping, Ping>(requests, "echo", new Ping(i, "after"), options, ct));
        }
    }
}
