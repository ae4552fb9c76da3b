using System.Globalization;
using System.Net.Sockets;
using Messaging.Connection;
using Messaging.Protocol.Messages;
using Messaging.Testing;

namespace Messaging.IntegrationTests.Connection;

/// <summary>Runs alone: it measures the whole managed heap, which any test running meanwhile would disturb.</summary>
[CollectionDefinition(nameof(HeapMeasurementCollection), DisableParallelization = true)]
public sealed class HeapMeasurementCollection;

/// <summary>
/// What an idle connection costs on the managed heap: the number a client with a connection to each of many
/// brokers (or many clients in one process) pays for doing nothing. A test rather than a tool, so a regression
/// (a per-connection buffer, a larger pool) fails the build; the bound is generous and the measured number is printed.
/// </summary>
[Collection(nameof(HeapMeasurementCollection))]
public sealed class IdleConnectionMemoryTests
{
    private const int Connections = 200;
    private const int BoundPerConnection = 16 * 1024;

    [Fact(Timeout = 120_000)]
    public async Task An_idle_connection_costs_less_than_16KB_of_managed_heap()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(1);
        var endpoint = BrokerConnectionTests.First(cluster.BootstrapServers);
        var settings = BrokerConnectionTests.Settings(cluster.BootstrapServers);

        // Warm up: JIT, statics, the request and pending-request pools, the socket engine's threads. (The whole-heap
        // numbers can still move by what a pool trims meanwhile, e.g. a large array an earlier test left in
        // ArrayPool.Shared: only the upper bounds are asserted.)
        await using (var warm = await BrokerConnection.ConnectAsync(endpoint, settings, ct))
        {
            await warm.SendAsync<MetadataRequest, MetadataResponse>(new MetadataRequest { Topics = [] }, ct);
        }

        // Baseline: what a bare connected socket with one pending receive costs (what any TCP client pays).
        var sockets = new Socket[Connections];
        var receives = new Task<int>[Connections];
        var buffer = new byte[4];
        var beforeSockets = GC.GetTotalMemory(forceFullCollection: true);
        for (var i = 0; i < Connections; i++)
        {
            sockets[i] = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await sockets[i].ConnectAsync(endpoint.Host, endpoint.Port, ct);
            receives[i] = sockets[i].ReceiveAsync(buffer, SocketFlags.None, ct).AsTask();
        }

        var afterSockets = GC.GetTotalMemory(forceFullCollection: true);
        foreach (var socket in sockets)
        {
            socket.Dispose();
        }

        await Task.WhenAll(receives).ContinueWith(static _ => { }, ct, TaskContinuationOptions.None, TaskScheduler.Default);
        var socketBytes = (afterSockets - beforeSockets) / Connections;

        // The connections: connected, handshaken, read loop waiting, timeout sweep armed, nothing in flight.
        var connections = new BrokerConnection[Connections];
        var before = GC.GetTotalMemory(forceFullCollection: true);
        for (var i = 0; i < Connections; i++)
        {
            connections[i] = await BrokerConnection.ConnectAsync(endpoint, settings, ct);
        }

        var after = GC.GetTotalMemory(forceFullCollection: true);
        var perConnection = (after - before) / Connections;

        foreach (var connection in connections)
        {
            Assert.True(connection.IsOpen);
            Assert.Equal(0, connection.PendingCount);
            await connection.DisposeAsync();
        }

        Array.Clear(connections); // nothing of ours holds them now: whatever stays is held by the library or the runtime
        var afterDisposal = GC.GetTotalMemory(forceFullCollection: true);
        var leftPerConnection = (afterDisposal - before) / Connections;

        var report = string.Create(CultureInfo.InvariantCulture,
            $"{Connections} idle connections: {perConnection} bytes of managed heap each ({after - before} in all); a bare connected socket with a pending receive: {socketBytes} bytes; left after disposal: {leftPerConnection} bytes each.");
        TestContext.Current.SendDiagnosticMessage(report);
        TestContext.Current.TestOutputHelper?.WriteLine(report);

        Assert.True(perConnection < BoundPerConnection, report);

        // What stays after disposal is one-time growth (pools, a new pool thread's caches): it plateaus over repeated
        // cycles at well under a connection's cost. A disposed connection something still held would leave all of it.
        Assert.True(leftPerConnection < perConnection / 2, "disposed connections are collectable: " + report);
    }
}
