using System.Runtime.CompilerServices;
using Messaging.Rpc.Tests.Support;
using Messaging.Testing.Brokers;

namespace Messaging.Rpc.Tests.Server;

/// <summary>A disposed server releases what it held, also while the application still holds the server object.</summary>
public sealed class ServerLifetimeTests(TestBrokerFixture fixture)
{
    public sealed record Ping(string Value);

    /// <summary>What a handler captures (a service, a cache): reachable only through the handler.</summary>
    private sealed class HandlerState
    {
        public string Prefix { get; } = "seen:";
    }

    [Fact(Timeout = 120_000)]
    public async Task A_disposed_server_keeps_no_handler_and_so_nothing_a_handler_captured()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await ServerTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        var server = new RpcServer(ServerTestSupport.Options(broker.BootstrapServers, requests, ServerTestSupport.NewGroup(), "s"));
        var state = MapCapturing(server);
        await server.StartAsync(ct);
        await ServerTestSupport.AssignedAsync(ct, server);
        await using (var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies)))
        {
            var answer = await client.CallAsync<Ping, Ping>(requests, "Echo", new Ping("x"), cancellationToken: ct);
            Assert.Equal("seen:x", answer.Value); // the handler ran, with its state
        }

        await server.DisposeAsync();

        // Collect until the state is gone, within a deadline: a request's async frame may be cleared on another thread
        // just after the reply completed.
        var deadline = TimeProvider.System.GetTimestamp() + TimeProvider.System.TimestampFrequency * 5;
        while (state.TryGetTarget(out var _) && TimeProvider.System.GetTimestamp() < deadline)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            await Task.Delay(10, ct);
        }

        Assert.False(state.TryGetTarget(out var _), "a handler's captured state is still reachable from the disposed server");
        Assert.Throws<ObjectDisposedException>(() => server.Map<Ping, Ping>("Late", (ping, _) => ValueTask.FromResult(ping)));
        GC.KeepAlive(server); // the application still holds the server: what it held must be released all the same
    }

    [Fact(Timeout = 60_000)]
    public async Task A_dispose_that_comes_while_a_start_is_under_way_refuses_the_start_and_no_loop_outlives_the_server()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, _) = await ServerTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        var server = new RpcServer(ServerTestSupport.Options(broker.BootstrapServers, requests, ServerTestSupport.NewGroup(), "s"));
        server.Map<Ping, Ping>("Echo", (ping, _) => ValueTask.FromResult(ping));

        // The dispose runs to its end after the start passed its first check: it must either stop the loop the start
        // begins, or the start must not begin one.
        server.StartChecked = () => server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => server.StartAsync(ct));
        await Conditions.WaitUntilAsync(() => server.LoopEnded, TimeSpan.FromSeconds(10), "the request loop ended (or never started) after the server's dispose", ct);
    }

    // Not inlined: the state must not stay alive in a local of the test method.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference<HandlerState> MapCapturing(RpcServer server)
    {
        var state = new HandlerState();
        server.Map<Ping, Ping>("Echo", (ping, _) => ValueTask.FromResult(new Ping(state.Prefix + ping.Value)));
        return new WeakReference<HandlerState>(state);
    }
}
