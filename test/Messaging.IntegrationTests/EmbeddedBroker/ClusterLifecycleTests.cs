using System.Net.Sockets;
using System.Text;
using Messaging.IntegrationTests.Support;
using Messaging.Testing;

namespace Messaging.IntegrationTests.EmbeddedBroker;

/// <summary>Clusters are independent, dispose cleanly, and leave nothing behind.</summary>
public sealed class ClusterLifecycleTests
{
    [Fact(Timeout = 60_000)]
    public async Task Two_clusters_in_one_process_do_not_see_each_others_data()
    {
        var ct = TestContext.Current.CancellationToken;
        using var first = EmbeddedKafkaCluster.Start(brokers: 1);
        using var second = EmbeddedKafkaCluster.Start(brokers: 2);
        Assert.NotEqual(first.BootstrapServers, second.BootstrapServers);
        first.CreateTopic("shared-name", 1);
        second.CreateTopic("shared-name", 1);

        foreach (var (cluster, tag, count) in new[] { (first, "first", 3), (second, "second", 5) })
        {
            using var producer = ConfluentClients.Producer(cluster.BootstrapServers);
            for (var i = 0; i < count; i++)
            {
                await ConfluentClients.ProduceOneAsync(producer, "shared-name", 0, tag + "-" + i, ct);
            }
        }

        var fromFirst = ConfluentClients.ReadAll(first.BootstrapServers, "shared-name", 1, 3, TimeSpan.FromSeconds(20), ct);
        var fromSecond = ConfluentClients.ReadAll(second.BootstrapServers, "shared-name", 1, 5, TimeSpan.FromSeconds(20), ct);
        Assert.Equal(["first-0", "first-1", "first-2"], fromFirst.Select(r => Encoding.UTF8.GetString(r.Message.Value)));
        Assert.Equal(5, fromSecond.Count);
        Assert.All(fromSecond, r => Assert.StartsWith("second-", Encoding.UTF8.GetString(r.Message.Value), StringComparison.Ordinal));
    }

    [Fact]
    public async Task Disposing_twice_is_harmless_and_use_after_dispose_throws_ObjectDisposedException()
    {
        var cluster = EmbeddedKafkaCluster.Start(brokers: 2);
        cluster.Dispose();
        cluster.Dispose();
        await cluster.DisposeAsync();
        Assert.True(cluster.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => cluster.CreateTopic("late", 1));
        Assert.Throws<ObjectDisposedException>(() => cluster.SetBrokerDown(1));
        Assert.Throws<ObjectDisposedException>(() => cluster.GetTrackedRequests());
    }

    [Fact]
    public async Task Disposed_cluster_stops_listening()
    {
        var cluster = EmbeddedKafkaCluster.Start(brokers: 1);
        var (host, port) = FirstEndpoint(cluster.BootstrapServers);
        using (var client = new TcpClient())
        {
            await client.ConnectAsync(host, port, TestContext.Current.CancellationToken); // listening now
        }

        await cluster.DisposeAsync();
        using var late = new TcpClient();
        await Assert.ThrowsAnyAsync<SocketException>(async () => await late.ConnectAsync(host, port, TestContext.Current.CancellationToken));
    }

    [Fact(Timeout = 30_000)]
    public async Task Concurrent_disposals_return_only_once_the_cluster_is_destroyed()
    {
        var ct = TestContext.Current.CancellationToken;
        var cluster = EmbeddedKafkaCluster.Start(brokers: 1);
        var (host, port) = FirstEndpoint(cluster.BootstrapServers);

        // Someone else holds the native cluster, as a disposal already destroying it does (or a fault-injection call
        // still running): the one that lets go last destroys it — here this test — and every Dispose must wait for that.
        var handle = (System.Runtime.InteropServices.SafeHandle)typeof(EmbeddedKafkaCluster)
            .GetField("_handle", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(cluster)!;
        var held = false;
        handle.DangerousAddRef(ref held);
        var first = Task.Run(cluster.Dispose, ct);
        var second = cluster.DisposeAsync().AsTask();

        // Neither may return while the cluster still runs; a window in which a premature return would show.
        await Task.WhenAny(Task.WhenAll(first, second), Task.Delay(TimeSpan.FromMilliseconds(500), ct));
        var returned = (First: first.IsCompleted, Second: second.IsCompleted);
        var listening = await AcceptsAsync(host, port, ct);
        handle.DangerousRelease();
        await Task.WhenAll(first, second).WaitAsync(TimeSpan.FromSeconds(10), ct);
        Assert.False(returned.First || returned.Second, "Dispose returned (first: " + returned.First + ", second: " + returned.Second + ") while the cluster was still " + (listening ? "listening" : "running"));
        Assert.False(await AcceptsAsync(host, port, ct), "the cluster still listens after every Dispose returned");
    }

    /// <summary>Whether something listens at <paramref name="host"/>:<paramref name="port"/> (a connection is accepted).</summary>
    internal static async Task<bool> AcceptsAsync(string host, int port, CancellationToken ct)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(host, port, ct);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    [Fact]
    public void Start_rejects_broker_counts_out_of_range()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => EmbeddedKafkaCluster.Start(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => EmbeddedKafkaCluster.Start(33));
    }

    internal static (string Host, int Port) FirstEndpoint(string bootstrapServers)
    {
        var first = bootstrapServers.Split(',')[0];
        var colon = first.LastIndexOf(':');
        return (first[..colon], int.Parse(first[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }
}

/// <summary>Runs alone (no other test starts threads or sockets meanwhile), so the counts mean something.</summary>
[CollectionDefinition(nameof(LeakCheckCollection), DisableParallelization = true)]
public sealed class LeakCheckCollection;

[Collection(nameof(LeakCheckCollection))]
public sealed class ClusterLeakTests
{
    [Fact(Timeout = 120_000)]
    public async Task Twenty_start_dispose_cycles_leak_no_threads_or_sockets()
    {
        Assert.SkipUnless(ProcessResources.Available, "Counting threads and sockets needs Linux /proc.");
        var ct = TestContext.Current.CancellationToken;
        await CycleAsync(ct); // warm-up: the native library and the runtime's own threads are in place
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var threadsBefore = ProcessResources.Threads();
        var socketsBefore = ProcessResources.Sockets();
        var descriptorsBefore = ProcessResources.FileDescriptors();

        var peakThreads = 0;
        var peakSockets = 0;
        for (var i = 0; i < 20; i++)
        {
            var (threads, sockets) = await CycleAsync(ct);
            peakThreads = Math.Max(peakThreads, threads);
            peakSockets = Math.Max(peakSockets, sockets);
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        var threadsAfter = ProcessResources.Threads();
        var socketsAfter = ProcessResources.Sockets();
        var descriptorsAfter = ProcessResources.FileDescriptors();

        // Each live 3-broker cluster holds native threads and listening sockets (seen at the peak); 20 leaked
        // cycles would leave 20 times that behind. A couple of runtime threads may come and go meanwhile.
        Assert.True(peakSockets > socketsBefore, "a running cluster holds sockets, so the count can see a leak");
        Assert.True(peakThreads > threadsBefore, "a running cluster holds threads, so the count can see a leak");
        Assert.True(socketsAfter <= socketsBefore, $"sockets: {socketsBefore} before, {socketsAfter} after 20 cycles");
        Assert.True(descriptorsAfter <= descriptorsBefore + 2, $"descriptors: {descriptorsBefore} before, {descriptorsAfter} after 20 cycles");
        Assert.True(threadsAfter <= threadsBefore + 3, $"threads: {threadsBefore} before, {threadsAfter} after 20 cycles");
    }

    private static async Task<(int Threads, int Sockets)> CycleAsync(CancellationToken ct)
    {
        var cluster = EmbeddedKafkaCluster.Start(brokers: 3);
        cluster.CreateTopic("cycle", 3, 3);
        foreach (var endpoint in cluster.BootstrapServers.Split(','))
        {
            var (host, port) = ClusterLifecycleTests.FirstEndpoint(endpoint);
            using var client = new TcpClient();
            await client.ConnectAsync(host, port, ct);
        }

        var live = (ProcessResources.Threads(), ProcessResources.Sockets());
        await cluster.DisposeAsync();
        return live;
    }
}
