using System.Runtime.CompilerServices;
using Messaging.Connection;
using Messaging.Core.Tests.Support;

namespace Messaging.Core.Tests.Connection;

/// <summary>
/// A connection attempt every caller stopped waiting for (their tokens fired: a timeout, a consumer closing) that then
/// fails leaves no faulted task nobody observed: the process-wide <see cref="TaskScheduler.UnobservedTaskException"/>
/// would report every such failure as a bug of the application.
/// </summary>
public sealed class AbandonedConnectUnobservedTests
{
    // Named in the attempt's error, so that another test's unobserved exception (the event is process-wide) does not count.
    private const string Host = "abandoned-connect.test";

    [Fact(Timeout = 10_000)]
    public async Task A_failed_connect_nobody_waits_for_any_more_raises_no_unobserved_task_exception()
    {
        var ct = TestContext.Current.CancellationToken;
        using var unobserved = new UnobservedExceptions(Host);
        var broker = new InMemoryBroker { ConnectGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        broker.Down[Host] = true;
        var endpoint = new BrokerEndpoint(Host, 9092, NodeId: 1);
        var settings = new ConnectionSettings(new KafkaClientOptions { BootstrapServers = Host + ":9092", TransportFactory = broker });
        await using var connections = new BrokerConnections(settings, [endpoint]);
        connections.UpdateBrokers([endpoint]);

        await GiveUpOnAConnectAsync(connections, broker, ct);
        broker.ConnectGate.SetResult(); // the attempt goes on, and fails: the broker is down

        // Bounded: the attempt fails at once once the gate opens; an unobserved failure shows within a few collections.
        for (var i = 0; i < 50 && unobserved.Count == 0; i++)
        {
            UnobservedExceptions.Collect();
            await Task.Delay(10, ct);
        }

        Assert.True(unobserved.Count == 0, "the failed connect nobody waited for any more was reported as an unobserved task exception");
    }

    /// <summary>Not inlined: nothing of the attempt stays reachable from the test's own frame when the GC runs.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task GiveUpOnAConnectAsync(BrokerConnections connections, InMemoryBroker broker, CancellationToken ct)
    {
        using var giveUp = new CancellationTokenSource();
        var waiting = connections.GetAsync(1, giveUp.Token).AsTask();
        await broker.ConnectStarted.Task.WaitAsync(ct);
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
    }
}
