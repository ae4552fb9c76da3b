using Messaging.Rpc.Tests.Support;
using Messaging.Testing.Brokers;
using CK = Confluent.Kafka;

namespace Messaging.Rpc.Tests.Server;

/// <summary>A partition the consumer holds because its start could not be looked up: the server starts it from the group's commit, not from offset 0.</summary>
public sealed class HeldPartitionTests(TestBrokerFixture fixture)
{
    public sealed record Call(int Index);

    public sealed record Answer(int Index);

    [Fact(Timeout = 120_000)]
    public async Task A_failed_committed_offset_lookup_does_not_make_the_next_owner_handle_the_answered_requests_again()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(faultInjection: true, cancellationToken: ct);
        var requests = TestBrokerFixture.UniqueTopicName("rpc-requests");
        var replies = TestBrokerFixture.UniqueTopicName("rpc-replies");
        await broker.CreateTopicAsync(requests, 1, 1, ct);
        await broker.CreateTopicAsync(replies, 2, 1, ct);
        var group = ServerTestSupport.NewGroup();
        await using var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies));
        var options = new RpcCallOptions { Timeout = TimeSpan.FromMinutes(5) }; // still live when a server reads them again

        var firstHandled = 0;
        await using (var first = new RpcServer(ServerTestSupport.Options(broker.BootstrapServers, requests, group, "first")))
        {
            first.Map<Call, Answer>("Echo", (call, _) =>
            {
                Interlocked.Increment(ref firstHandled);
                return ValueTask.FromResult(new Answer(call.Index));
            });
            await first.StartAsync(ct);
            await Conditions.WaitUntilAsync(() => first.Assignment.Count == 1, TimeSpan.FromSeconds(60), "the first server owns the partition", ct);
            for (var i = 0; i < 3; i++)
            {
                Assert.Equal(i, (await client.CallAsync<Call, Answer>(requests, "Echo", new Call(i), options, ct)).Index);
            }

            await ServerTestSupport.WaitForCommitAsync(broker.BootstrapServers, group, new CK.TopicPartition(requests, 0), 3, ct);
        }

        Assert.Equal(3, firstHandled);

        // The next owner's lookup of the committed offset is refused once: the consumer holds the partition with an error.
        broker.Faults!.PushRequestErrors(ApiKey.OffsetFetch, ErrorCode.GroupAuthorizationFailed);
        var handled = new System.Collections.Concurrent.ConcurrentQueue<int>();
        await using var next = new RpcServer(ServerTestSupport.Options(broker.BootstrapServers, requests, group, "next"));
        next.Map<Call, Answer>("Echo", (call, _) =>
        {
            handled.Enqueue(call.Index);
            return ValueTask.FromResult(new Answer(call.Index));
        });
        await next.StartAsync(ct);
        await Conditions.WaitUntilAsync(() => next.Statistics.ConsumeErrors >= 1, TimeSpan.FromSeconds(60), "the held partition's error reaches the server", ct);

        Assert.Equal(3, (await client.CallAsync<Call, Answer>(requests, "Echo", new Call(3), options, ct)).Index);
        await ServerTestSupport.WaitForCommitAsync(broker.BootstrapServers, group, new CK.TopicPartition(requests, 0), 4, ct);

        Assert.Equal([3], handled.ToArray());
    }
}
