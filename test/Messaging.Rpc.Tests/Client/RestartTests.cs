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
}
