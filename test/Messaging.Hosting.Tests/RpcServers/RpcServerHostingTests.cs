using System.Diagnostics;
using Messaging.IntegrationTests.Support;
using Messaging.Rpc;
using Messaging.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Messaging.Hosting.Tests.RpcServers;

/// <summary>
/// <c>AddRpcServer</c> in a generic host on the embedded broker: handlers from DI in a scope per request, several
/// servers in one host, graceful stop with calls in flight, settings validated at start.
/// </summary>
public sealed class RpcServerHostingTests
{
    internal const string Orders = "orders.rpc";
    private const string Inventory = "inventory.rpc";
    private const string Replies = "orders.replies";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    internal static readonly RpcCallOptions Call = new() { Timeout = TimeSpan.FromSeconds(45) };

    [Fact(Timeout = 120_000)]
    public async Task Calls_are_answered_by_di_handlers_each_request_in_a_scope_of_its_own()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster();
        var log = new ScopeLog();
        using var host = BuildHost(cluster, log, server => server.MapHandler<OrderRequest, OrderReply, PlaceOrderHandler>("PlaceOrder"), builder =>
        {
            // A second, keyed server in the same host, with delegate handlers that get the request's scope.
            builder.Services.AddRpcServer(builder.Configuration.GetSection("Inventory"), serviceKey: "inventory")
                .Map<OrderRequest, int>("Reserve", static (request, _, services) => ValueTask.FromResult(services.GetRequiredService<UnitOfWork>().Number))
                .MapRaw("Echo", static (payload, context, services) =>
                {
                    Assert.Equal("Echo", context.Method);
                    _ = services.GetRequiredService<UnitOfWork>();
                    return ValueTask.FromResult<ReadOnlyMemory<byte>>(payload.ToArray());
                });
        });
        await host.StartAsync(ct);
        var client = host.Services.GetRequiredService<RpcClient>();

        var calls = new Task<OrderReply>[5];
        for (int i = 0; i < calls.Length; i++)
        {
            calls[i] = client.CallAsync<OrderRequest, OrderReply>(Orders, "PlaceOrder", new OrderRequest("sku-" + i, i), Call, ct).AsTask();
        }

        var replies = await Task.WhenAll(calls);
        var reserved = await client.CallAsync<OrderRequest, int>(Inventory, "Reserve", new OrderRequest("sku-9", 9), Call, ct);
        var echoed = await client.CallAsync(Inventory, "Echo", "ping"u8.ToArray(), Call, ct);

        for (int i = 0; i < calls.Length; i++)
        {
            Assert.Equal(new OrderRequest("sku-" + i, i), new OrderRequest(replies[i].Sku, replies[i].Quantity));
        }

        // One unit of work per request (seven requests), none shared, each disposed with its scope before the reply went out.
        var numbers = new HashSet<int>();
        foreach (var reply in replies)
        {
            numbers.Add(reply.UnitOfWork);
        }

        numbers.Add(reserved);
        Assert.Equal(6, numbers.Count);
        Assert.Equal("ping"u8.ToArray(), echoed);
        Assert.Equal(7, log.Created);
        Assert.Equal(7, log.Disposed);
        Assert.NotSame(host.Services.GetRequiredService<RpcServer>(), host.Services.GetRequiredKeyedService<RpcServer>("inventory"));
        await host.StopAsync(ct);
    }

    [Fact(Timeout = 120_000)]
    public async Task A_throwing_handler_answers_Internal_and_its_scope_is_still_disposed()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster();
        var log = new ScopeLog();
        using var host = BuildHost(cluster, log, server => server.MapHandler<OrderRequest, OrderReply, FailingOrderHandler>("PlaceOrder"));
        await host.StartAsync(ct);
        var client = host.Services.GetRequiredService<RpcClient>();

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            client.CallAsync<OrderRequest, OrderReply>(Orders, "PlaceOrder", new OrderRequest("sku-1", 1), Call, ct).AsTask());

        Assert.Equal(RpcStatus.Internal, error.Status);
        Assert.Contains("out of stock: sku-1", error.Detail, StringComparison.Ordinal);
        Assert.Equal(1, log.Created);
        Assert.Equal(1, log.Disposed);
        await host.StopAsync(ct);
    }

    [Fact(Timeout = 120_000)]
    public async Task Host_stop_lets_calls_in_flight_finish_cancels_those_past_the_drain_timeout_and_leaves_the_group()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster();
        var log = new ScopeLog();
        using var host = BuildHost(cluster, log, server => server
            .MapHandler<OrderRequest, OrderReply, GatedOrderHandler>("Gated")
            .MapHandler<OrderRequest, OrderReply, StuckOrderHandler>("Stuck"), extra: ("RpcServer:DrainTimeout", "00:00:02"));
        // The gated handlers are let go once the host begins to stop, so they finish while the server drains.
        host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() => log.Gate.TrySetResult());
        await host.StartAsync(ct);
        var client = host.Services.GetRequiredService<RpcClient>();

        var gated = new[]
        {
            client.CallAsync<OrderRequest, OrderReply>(Orders, "Gated", new OrderRequest("sku-1", 1), Call, ct).AsTask(),
            client.CallAsync<OrderRequest, OrderReply>(Orders, "Gated", new OrderRequest("sku-2", 2), Call, ct).AsTask(),
        };
        var stuck = new[]
        {
            client.CallAsync<OrderRequest, OrderReply>(Orders, "Stuck", new OrderRequest("sku-3", 3), Call, ct).AsTask(),
            client.CallAsync<OrderRequest, OrderReply>(Orders, "Stuck", new OrderRequest("sku-4", 4), Call, ct).AsTask(),
        };
        await Eventually.TrueAsync(() => log.Entered == 4, Deadline, "every handler running", ct);
        cluster.StartRequestTracking();

        await host.StopAsync(ct);

        // Every call ends, well before its own timeout: the gated ones answered, the stuck ones failed with a typed error.
        await Task.WhenAll([.. gated, .. stuck]).ContinueWith(static _ => { }, ct, TaskContinuationOptions.None, TaskScheduler.Default).WaitAsync(Deadline, ct);
        Assert.Equal("sku-1", (await gated[0]).Sku);
        Assert.Equal("sku-2", (await gated[1]).Sku);
        foreach (var call in stuck)
        {
            var error = await Assert.ThrowsAsync<RpcException>(() => call);
            Assert.Equal(RpcStatus.Unavailable, error.Status);
        }

        Assert.Equal(4, log.Disposed);
        Assert.Contains(cluster.GetTrackedRequests(), static r => r.ApiKey == ApiKey.LeaveGroup);
    }

    [Fact(Timeout = 120_000)]
    public async Task Host_stop_returns_at_the_hosts_shutdown_timeout_while_the_server_drains_on()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = StartCluster();
        var log = new ScopeLog();
        using var host = BuildHost(cluster, log, server => server.MapHandler<OrderRequest, OrderReply, GatedOrderHandler>("Gated"),
            builder => builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(1)),
            ("RpcServer:DrainTimeout", "00:00:40"));
        await host.StartAsync(ct);
        var client = host.Services.GetRequiredService<RpcClient>();
        var call = client.CallAsync<OrderRequest, OrderReply>(Orders, "Gated", new OrderRequest("sku-1", 1), Call, ct).AsTask();
        await Eventually.TrueAsync(() => log.Entered == 1, Deadline, "the handler running", ct);
        cluster.StartRequestTracking();

        var stopping = Stopwatch.StartNew();
        await host.StopAsync(ct);

        // The host's 1 s, not the server's 40 s drain: the stop token is honoured.
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(20), "host stop took " + stopping.Elapsed);
        // The server's disposal goes on: the handler, let go now, still gets its reply out; then the member leaves.
        log.Gate.TrySetResult();
        Assert.Equal("sku-1", (await call.WaitAsync(Deadline, ct)).Sku);
        await Eventually.TrueAsync(() => cluster.GetTrackedRequests().Any(static r => r.ApiKey == ApiKey.LeaveGroup), Deadline, "the server leaving its group", ct);
    }

    [Fact]
    public async Task Server_settings_bind_from_configuration_nested_ones_included()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["RpcServer:BootstrapServers"] = "broker:9092",
            ["RpcServer:ClientId"] = "pricing",
            ["RpcServer:RequestTopics:0"] = "pricing",
            ["RpcServer:GroupId"] = "pricing-service",
            ["RpcServer:MaxConcurrentRequests"] = "64",
            ["RpcServer:MaxConcurrentRequestsPerMethod"] = "16",
            ["RpcServer:MethodConcurrency:GetPrice"] = "4",
            ["RpcServer:PreserveKeyOrder"] = "true",
            ["RpcServer:ExpiredRequests"] = "ReplyDeadlineExceeded",
            ["RpcServer:DrainTimeout"] = "00:00:03",
            ["RpcServer:CommitInterval"] = "00:00:00.500",
            ["RpcServer:Headers:Prefix"] = "acme_",
            ["RpcServer:Pools:BlockSize"] = "4096",
            ["RpcServer:Pools:MaximumSmallPoolFreeBytes"] = "65536",
            ["RpcServer:ReplyCache:Enabled"] = "true",
            ["RpcServer:ReplyCache:MaxEntries"] = "500",
            ["RpcServer:Producer:Linger"] = "00:00:00.005",
            ["RpcServer:Consumer:FetchMaxWait"] = "00:00:00.020",
        }).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddRpcServer(configuration.GetSection("RpcServer"), o => o.TimeProvider = TimeProvider.System);
        await using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptionsMonitor<RpcServerOptions>>().CurrentValue;
        Assert.Equal(["pricing"], options.RequestTopics);
        Assert.Equal("pricing-service", options.GroupId);
        Assert.Equal(64, options.MaxConcurrentRequests);
        Assert.Equal(16, options.MaxConcurrentRequestsPerMethod);
        Assert.Equal(4, options.MethodConcurrency["GetPrice"]);
        Assert.True(options.PreserveKeyOrder);
        Assert.Equal(RpcExpiredRequestPolicy.ReplyDeadlineExceeded, options.ExpiredRequests);
        Assert.Equal(TimeSpan.FromSeconds(3), options.DrainTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.CommitInterval);
        Assert.Equal("acme_method", options.Headers.Method);
        Assert.Equal(4096, options.Pools.BlockSize);
        Assert.Equal(65536, options.Pools.MaximumSmallPoolFreeBytes);
        Assert.True(options.ReplyCache.Enabled);
        Assert.Equal(500, options.ReplyCache.MaxEntries);
        Assert.Equal(TimeSpan.FromMilliseconds(5), options.Producer.Linger);
        Assert.Equal(TimeSpan.FromMilliseconds(20), options.Consumer.FetchMaxWait);
        // The server logs through the host's logging; its nested clients inherit that and the server's connection in
        // the server's own copy of the options (RpcServerOptionsTests), leaving the bound options as configured.
        Assert.Same(provider.GetRequiredService<ILoggerFactory>(), options.LoggerFactory);
        Assert.Equal("", options.Producer.BootstrapServers);
    }

    [Theory]
    [InlineData("RpcServer:MaxConcurrentRequests", "0", "1")]
    [InlineData("RpcServer:Pools:BlockSize", "10", "256")]
    [InlineData("RpcServer:ReplyCache:MaxEntries", "0", "1")]
    [InlineData("RpcServer:Producer:MaxInFlightRequestsPerConnection", "0", "between 1 and 1024")]
    [InlineData("RpcServer:Consumer:MaxPollRecords", "0", "between 1 and 1,048,576")]
    public async Task A_wrong_server_setting_fails_the_host_at_start_naming_its_key_and_the_allowed_range(string key, string value, string allowed)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["RpcServer:BootstrapServers"] = "localhost:9092",
            ["RpcServer:RequestTopics:0"] = Orders,
            ["RpcServer:GroupId"] = "orders",
            [key] = value,
        });
        builder.Services.AddRpcServer(builder.Configuration.GetSection("RpcServer")).MapHandler<OrderRequest, OrderReply, PlaceOrderHandler>("PlaceOrder");
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
        Assert.Contains(allowed, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_without_methods_fails_the_host_at_start()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddRpcServer(o =>
        {
            o.BootstrapServers = "localhost:9092";
            o.RequestTopics = [Orders];
            o.GroupId = "orders";
        });
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync(TestContext.Current.CancellationToken));
        Assert.Contains("Map at least one method", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_method_mapped_twice_or_a_server_registered_twice_is_refused_at_registration()
    {
        var services = new ServiceCollection();
        var server = services.AddRpcServer(configuration: null).MapHandler<OrderRequest, OrderReply, PlaceOrderHandler>("PlaceOrder");

        Assert.Throws<InvalidOperationException>(() => server.Map<OrderRequest, int>("PlaceOrder", static (_, _, _) => ValueTask.FromResult(1)));
        Assert.Throws<InvalidOperationException>(() => services.AddRpcServer(configuration: null));
        services.AddRpcServer(configuration: null, serviceKey: "second"); // another key is another server
        Assert.Contains(services, static d => d.ServiceType == typeof(PlaceOrderHandler) && d.Lifetime == ServiceLifetime.Scoped);
    }

    internal static EmbeddedKafkaCluster StartCluster()
    {
        var cluster = EmbeddedKafkaCluster.Start(brokers: 1);
        cluster.SetGroupInitialRebalanceDelay(TimeSpan.FromMilliseconds(100));
        cluster.CreateTopic(Orders, partitions: 2);
        cluster.CreateTopic(Inventory, partitions: 1);
        cluster.CreateTopic(Replies, partitions: 1);
        return cluster;
    }

    /// <summary>A host with a server ("RpcServer" section) and a client ("Rpc" section) from in-memory configuration.</summary>
    internal static IHost BuildHost(EmbeddedKafkaCluster cluster, ScopeLog log, Action<IRpcServerBuilder> map, Action<HostApplicationBuilder>? more = null,
        params (string Key, string Value)[] extra)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var settings = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["RpcServer:BootstrapServers"] = cluster.BootstrapServers,
            ["RpcServer:RequestTopics:0"] = Orders,
            ["RpcServer:GroupId"] = "orders",
            ["RpcServer:Consumer:SessionTimeout"] = "00:00:06",
            ["RpcServer:Consumer:HeartbeatInterval"] = "00:00:00.300",
            ["RpcServer:Consumer:FetchMaxWait"] = "00:00:00.010", // EmbeddedKafkaCluster.RecommendedFetchMaxWait
            ["Inventory:BootstrapServers"] = cluster.BootstrapServers,
            ["Inventory:RequestTopics:0"] = Inventory,
            ["Inventory:GroupId"] = "inventory",
            ["Inventory:Consumer:FetchMaxWait"] = "00:00:00.010",
            ["Rpc:BootstrapServers"] = cluster.BootstrapServers,
            ["Rpc:ReplyTopic"] = Replies,
            ["Rpc:Consumer:FetchMaxWait"] = "00:00:00.010",
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddSingleton(log);
        builder.Services.AddScoped<UnitOfWork>();
        map(builder.Services.AddRpcServer(builder.Configuration.GetSection("RpcServer")));
        builder.Services.AddRpcClient(builder.Configuration.GetSection("Rpc"));
        more?.Invoke(builder);
        return builder.Build();
    }
}
