using Messaging.Rpc.Tests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.Rpc.Tests.Client;

/// <summary>A start that timed out while the reply partitions were being positioned, then a start that succeeds: one reply loop.</summary>
public sealed class RestartTests(TestBrokerFixture fixture)
{
    public sealed record Ping(int Index, string Text);

    [Fact(Timeout = 90_000)]
    public async Task A_start_retried_after_a_timed_out_positioning_leaves_one_reply_loop()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, o => o.StartTimeout = TimeSpan.FromSeconds(1), ct);
        var faults = rpc.Broker.Faults;
        Assert.SkipWhen(faults is null, "Delays are injected on the embedded broker only.");
        for (var broker = 1; broker <= rpc.Broker.BrokerCount; broker++)
        {
            // Three slow answers per broker: the test replier's own lookups may take one.
            var slow = (ErrorCode.None, TimeSpan.FromMilliseconds(1500));
            faults.PushBrokerRequestErrors(broker, ApiKey.ListOffsets, slow, slow, slow);
        }

        var failedStarts = 0;
        while (true)
        {
            try
            {
                await rpc.Client.StartAsync(ct);
                break;
            }
            catch (RpcException e) when (e.Status == RpcStatus.Unavailable && failedStarts < 20)
            {
                failedStarts++;
            }
        }

        Assert.True(failedStarts >= 1, "the first start was meant to time out while positioning");
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(new Ping(i, "x"), await rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "echo", new Ping(i, "x"), default, ct));
        }

        // One loop consumes; a second one on the same consumer is refused ("another consume call is in progress")
        // and counts a consume error every 100 ms.
        Assert.Equal(0, rpc.Client.Statistics.ConsumeErrors);
    }

    [Fact(Timeout = 90_000)]
    public async Task A_start_retried_after_partitions_were_added_to_the_reply_topic_reads_them_all()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var rpc = await RpcHarness.StartAsync(fixture, o =>
        {
            o.StartTimeout = TimeSpan.FromSeconds(1);
            o.ReplyMode = RpcReplyMode.SharedTopicAllPartitions;
        }, ct);
        var faults = rpc.Broker.Faults;
        Assert.SkipWhen(faults is null, "Delays are injected on the embedded broker only.");
        var slow = (ErrorCode.None, TimeSpan.FromMilliseconds(1500));
        for (var broker = 1; broker <= rpc.Broker.BrokerCount; broker++)
        {
            faults.PushBrokerRequestErrors(broker, ApiKey.ListOffsets, slow, slow, slow); // the test replier's lookups may take one
        }

        var first = await Assert.ThrowsAsync<RpcException>(() => rpc.Client.StartAsync(ct));
        Assert.Equal(RpcStatus.Unavailable, first.Status);

        // Scaled out before the start is retried (made anew with more partitions: the embedded broker cannot add any).
        await rpc.Broker.DeleteTopicAsync(rpc.Replies, ct);
        await rpc.Broker.CreateTopicAsync(rpc.Replies, 4, 1, ct);
        for (var failedStarts = 0; ; failedStarts++)
        {
            try
            {
                await rpc.Client.StartAsync(ct);
                break;
            }
            catch (RpcException e) when (e.Status == RpcStatus.Unavailable && failedStarts < 20)
            {
                // The slow answers left time out more starts.
            }
        }

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => rpc.Client.CallAsync<Ping, Ping>(rpc.Requests, "echo", new Ping(i, "x"),
            new RpcCallOptions { Key = new[] { (byte)i }, Timeout = TimeSpan.FromSeconds(10) }, ct).AsTask()));
        Assert.Equal(Enumerable.Range(0, 20), results.Select(r => r.Index));
    }
}
