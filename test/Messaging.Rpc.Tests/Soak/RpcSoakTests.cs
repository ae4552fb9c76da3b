using Messaging.Rpc.Tests.Server;
using Messaging.Rpc.Tests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.Rpc.Tests.Soak;

/// <summary>
/// A bounded soak: 200,000 calls from 64 concurrent callers through one client and one server. After a warm-up, the
/// process's managed memory stays within 4 MiB (measured: 5 KiB; a leak of 20 bytes per call would exceed it), and the client's
/// pending map and the server's in-flight count end at zero. Runs alone (nothing else allocating in the process) and
/// carries the <c>Soak</c> trait, so a run can select or skip it: <c>-- --filter-not-trait "Category=Soak"</c>.
/// </summary>
[Collection(Name)]
[Trait("Category", "Soak")]
public sealed class RpcSoakTests(TestBrokerFixture fixture)
{
    public const string Name = "Soak: alone";

    /// <summary>Growth of managed memory allowed from after the warm-up to the end (pools filling up, the JIT's tiers).</summary>
    private const long MemoryBound = 4L * 1024 * 1024;

    public sealed record Order(int Caller, int Index, string Reference);

    public sealed record Confirmation(int Caller, int Index, string Reference);

    [Fact(Timeout = 600_000)]
    public async Task Two_hundred_thousand_calls_keep_memory_bounded_and_leave_nothing_pending()
    {
        const int calls = 200_000;
        const int warmup = 20_000;
        const int callers = 64;
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await ServerTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        await using var server = new RpcServer(ServerTestSupport.Options(broker.BootstrapServers, requests, ServerTestSupport.NewGroup(), "soak",
            o => o.MaxConcurrentRequests = 256));
        server.Map<Order, Confirmation>("Place", (order, _) => ValueTask.FromResult(new Confirmation(order.Caller, order.Index, order.Reference)));
        await server.StartAsync(ct);
        await ServerTestSupport.AssignedAsync(ct, server);
        // The client's default producer (5 ms linger, sent at once when idle), not the test support's zero linger:
        // under this load a zero linger sends one Produce per call.
        await using var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies,
            o => o.Producer = new KafkaProducerOptions { Acks = Acks.Leader, CloseTimeout = TimeSpan.FromSeconds(2) }));

        await RunAsync(client, requests, warmup, callers, ct);
        var afterWarmup = GC.GetTotalMemory(forceFullCollection: true);
        var wrong = await RunAsync(client, requests, calls, callers, ct);
        await Conditions.WaitUntilAsync(() => server.Statistics.InFlight == 0, TimeSpan.FromSeconds(30), "the server finishing its requests", ct);
        var atEnd = GC.GetTotalMemory(forceFullCollection: true);

        Assert.Equal(0, wrong);
        Assert.Equal(0, client.PendingEntries);
        Assert.Equal(0, client.Statistics.UnmatchedReplies);
        Assert.Equal(0, server.Statistics.HandlerErrors);
        Assert.True(server.Statistics.Replies >= calls + warmup, "every call answered: " + server.Statistics.Replies);
        Assert.True(atEnd - afterWarmup < MemoryBound,
            $"managed memory grew by {(atEnd - afterWarmup) / 1024:N0} KiB over {calls:N0} calls (bound {MemoryBound / 1024:N0} KiB): from {afterWarmup / 1024:N0} KiB to {atEnd / 1024:N0} KiB");
    }

    /// <summary>Makes <paramref name="calls"/> calls from <paramref name="callers"/> loops; returns how many replies did not echo their call.</summary>
    private static async Task<int> RunAsync(RpcClient client, string requests, int calls, int callers, CancellationToken cancellationToken)
    {
        var next = -1;
        var wrong = 0;
        var loops = new Task[callers];
        for (var c = 0; c < callers; c++)
        {
            var caller = c;
            loops[c] = Task.Run(async () =>
            {
                int index;
                while ((index = Interlocked.Increment(ref next)) < calls)
                {
                    var order = new Order(caller, index, "ref-" + index.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    var confirmation = await client.CallAsync<Order, Confirmation>(requests, "Place", order,
                        new RpcCallOptions { Timeout = TimeSpan.FromSeconds(60) }, cancellationToken);
                    if (confirmation.Caller != caller || confirmation.Index != index || confirmation.Reference != order.Reference)
                    {
                        Interlocked.Increment(ref wrong);
                    }
                }
            }, cancellationToken);
        }

        await Task.WhenAll(loops);
        return wrong;
    }
}

[CollectionDefinition(RpcSoakTests.Name, DisableParallelization = true)]
public sealed class SoakCollection;
