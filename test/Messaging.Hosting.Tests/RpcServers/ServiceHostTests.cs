using Messaging.Hosting.Tests.Consumers;
using Messaging.IntegrationTests.Support;
using Messaging.Rpc;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Messaging.Hosting.Tests.RpcServers;

/// <summary>
/// One generic host as an event-driven service runs it: an RPC server, an RPC client and a hosted consumer, all from
/// configuration. It starts, serves calls and handles records, and stops gracefully with calls in flight — each
/// answered or failed with a typed error, none left hanging.
/// </summary>
public sealed class ServiceHostTests
{
    private const string Events = "orders.events";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact(Timeout = 120_000)]
    public async Task A_host_with_a_server_a_client_and_a_hosted_consumer_serves_handles_and_stops_gracefully()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = RpcServerHostingTests.StartCluster();
        cluster.CreateTopic(Events, partitions: 2);
        var scopes = new ScopeLog();
        var handled = new HandlingLog();
        using var host = RpcServerHostingTests.BuildHost(cluster, scopes,
            server => server.MapHandler<OrderRequest, OrderReply, PlaceOrderHandler>("PlaceOrder").MapHandler<OrderRequest, OrderReply, GatedOrderHandler>("Gated"),
            builder =>
            {
                builder.Services.AddSingleton(handled);
                builder.Services.AddKafkaConsumerHandler<RecordingHandler, string, string>(builder.Configuration.GetSection("Orders"));
            },
            ("Orders:Topics:0", Events),
            ("Orders:Consumer:BootstrapServers", cluster.BootstrapServers),
            ("Orders:Consumer:GroupId", "orders-events"),
            ("Orders:Consumer:AutoOffsetReset", "Earliest"),
            ("Orders:Consumer:SessionTimeout", "00:00:06"),
            ("Orders:Consumer:HeartbeatInterval", "00:00:00.300"),
            ("RpcServer:DrainTimeout", "00:00:10"));
        // The gated calls are let go once the host begins to stop: they finish while the server drains.
        host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() => scopes.Gate.TrySetResult());
        await host.StartAsync(ct);
        var client = host.Services.GetRequiredService<RpcClient>();

        // Serves: a call answered by a DI handler.
        var placed = await client.CallAsync<OrderRequest, OrderReply>(RpcServerHostingTests.Orders, "PlaceOrder", new OrderRequest("sku-1", 1), RpcServerHostingTests.Call, ct);
        Assert.Equal("sku-1", placed.Sku);

        // Handles: records on the events topic reach the hosted consumer's handler.
        await using (var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = cluster.BootstrapServers }))
        {
            for (var i = 0; i < 10; i++)
            {
                await HostedConsumerHost.ProduceAsync(producer, Events, i % 2, "k" + i, "event-" + i, ct);
            }
        }

        await Eventually.TrueAsync(() => handled.Handled.Count == 10, Deadline, "the hosted consumer handling all 10 events", ct);

        // Stops with calls in flight: every one ends, answered.
        var inFlight = new[]
        {
            client.CallAsync<OrderRequest, OrderReply>(RpcServerHostingTests.Orders, "Gated", new OrderRequest("sku-2", 2), RpcServerHostingTests.Call, ct).AsTask(),
            client.CallAsync<OrderRequest, OrderReply>(RpcServerHostingTests.Orders, "Gated", new OrderRequest("sku-3", 3), RpcServerHostingTests.Call, ct).AsTask(),
        };
        await Eventually.TrueAsync(() => scopes.Entered >= 2, Deadline, "both gated handlers running", ct);
        await host.StopAsync(ct);

        var answers = await Task.WhenAll(inFlight).WaitAsync(Deadline, ct);
        Assert.Equal(["sku-2", "sku-3"], answers.Select(a => a.Sku).Order());
        Assert.Equal(scopes.Created, scopes.Disposed); // every request's scope disposed
        Assert.Equal(10, handled.Handled.Select(h => (h.Partition, h.Offset)).Distinct().Count());
    }
}
