using Messaging.Rpc;
using Messaging.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Messaging.Hosting.Tests;

/// <summary><c>AddRpcClient</c>: settings bound from configuration (pools and resilience included), validated at start, the circuit health check.</summary>
public sealed class RpcClientHostingTests
{
    [Fact]
    public async Task Rpc_client_settings_bind_from_configuration_nested_ones_included()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Rpc:BootstrapServers"] = "broker:9092",
            ["Rpc:ReplyTopic"] = "replies",
            ["Rpc:ReplyMode"] = "SharedTopicAllPartitions",
            ["Rpc:DefaultTimeout"] = "00:00:05",
            ["Rpc:MaxPendingCalls"] = "123",
            ["Rpc:Headers:Prefix"] = "acme_",
            ["Rpc:Pools:BlockSize"] = "4096",
            ["Rpc:Pools:MaximumSmallPoolFreeBytes"] = "65536",
            ["Rpc:Resilience:MaxAttempts"] = "5",
            ["Rpc:Resilience:AttemptTimeout"] = "00:00:01",
            ["Rpc:Resilience:IdempotentMethods:0"] = "GetOrder",
            ["Rpc:Resilience:IdempotentMethods:1"] = "ListOrders",
            ["Rpc:Resilience:CircuitBreaker:Enabled"] = "true",
            ["Rpc:Resilience:CircuitBreaker:MinimumThroughput"] = "7",
            ["Rpc:Resilience:Hedging:Enabled"] = "true",
            ["Rpc:Resilience:Hedging:Delay"] = "00:00:00.250",
            ["Rpc:Producer:Linger"] = "00:00:00.005",
            ["Rpc:Consumer:FetchMaxWait"] = "00:00:00.020",
        }).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddRpcClient(configuration.GetSection("Rpc"), o => o.Interceptors.Add(new RpcDeadlinePropagationInterceptor()));
        await using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptionsMonitor<RpcClientOptions>>().CurrentValue;
        Assert.Equal("broker:9092", options.BootstrapServers);
        Assert.Equal("replies", options.ReplyTopic);
        Assert.Equal(RpcReplyMode.SharedTopicAllPartitions, options.ReplyMode);
        Assert.Equal(TimeSpan.FromSeconds(5), options.DefaultTimeout);
        Assert.Equal(123, options.MaxPendingCalls);
        Assert.Equal("acme_method", options.Headers.Method);
        Assert.Equal(4096, options.Pools.BlockSize);
        Assert.Equal(65536, options.Pools.MaximumSmallPoolFreeBytes);
        Assert.Equal(5, options.Resilience.MaxAttempts);
        Assert.Equal(TimeSpan.FromSeconds(1), options.Resilience.AttemptTimeout);
        Assert.Equal(["GetOrder", "ListOrders"], options.Resilience.IdempotentMethods);
        Assert.True(options.Resilience.CircuitBreaker.Enabled);
        Assert.Equal(7, options.Resilience.CircuitBreaker.MinimumThroughput);
        Assert.True(options.Resilience.Hedging.Enabled);
        Assert.Equal(TimeSpan.FromMilliseconds(250), options.Resilience.Hedging.Delay);
        Assert.Equal(TimeSpan.FromMilliseconds(5), options.Producer.Linger);
        Assert.Equal(TimeSpan.FromMilliseconds(20), options.Consumer.FetchMaxWait);
        Assert.IsType<RpcDeadlinePropagationInterceptor>(Assert.Single(options.Interceptors));
        Assert.Same(provider.GetRequiredService<ILoggerFactory>(), options.LoggerFactory);
        Assert.Same(provider.GetRequiredService<RpcClient>(), provider.GetRequiredService<RpcClient>());
    }

    [Theory]
    [InlineData("Rpc:Pools:BlockSize", "10", "256")]
    [InlineData("Rpc:Resilience:MaxAttempts", "0", "1")]
    [InlineData("Rpc:Resilience:CircuitBreaker:FailureRatio", "2", "at most 1")]
    [InlineData("Rpc:Producer:MaxInFlightRequestsPerConnection", "0", "between 1 and 1024")]
    [InlineData("Rpc:DefaultTimeout", "00:00:00", "DefaultTimeout")]
    public async Task A_wrong_rpc_setting_fails_the_host_at_start_naming_its_key_and_the_allowed_range(string key, string value, string allowed)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Rpc:BootstrapServers"] = "localhost:9092",
            ["Rpc:Resilience:CircuitBreaker:Enabled"] = "true",
            [key] = value,
        });
        builder.Services.AddRpcClient(builder.Configuration.GetSection("Rpc"));
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
        Assert.Contains(allowed, error.Message, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task The_circuit_health_check_is_healthy_while_circuits_are_closed_and_fails_when_one_opens()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(brokers: 1);
        cluster.CreateTopic("unanswered", partitions: 1);
        cluster.CreateTopic("replies", partitions: 1);
        var services = new ServiceCollection().AddLogging();
        services.AddRpcClient(null, o =>
        {
            o.BootstrapServers = cluster.BootstrapServers;
            o.ReplyTopic = "replies";
            o.Consumer.FetchMaxWait = TimeSpan.FromMilliseconds(10);
            o.Resilience.MaxAttempts = 1;
            o.Resilience.CircuitBreaker = new RpcCircuitBreakerOptions { Enabled = true, FailureRatio = 1, MinimumThroughput = 2, BreakDuration = TimeSpan.FromMinutes(1) };
        });
        services.AddHealthChecks().AddRpcCircuitBreakers(failureStatus: HealthStatus.Degraded);
        await using var provider = services.BuildServiceProvider();
        var health = provider.GetRequiredService<HealthCheckService>();
        var client = provider.GetRequiredService<RpcClient>();

        Assert.Equal(HealthStatus.Healthy, (await health.CheckHealthAsync(ct)).Entries["rpc-circuits"].Status);

        // Started first: a call whose deadline passes while the client is still positioning its reply consumer fails
        // before it reaches the breaker, which would then count one failure short on a loaded machine.
        await client.StartAsync(ct);

        // Nobody serves the topic: two calls time out, and the circuit opens.
        for (var i = 0; i < 2; i++)
        {
            var error = await Assert.ThrowsAsync<RpcException>(() =>
                client.CallAsync("unanswered", "Get", new byte[] { 1 }, new RpcCallOptions { Timeout = TimeSpan.FromMilliseconds(300) }, ct).AsTask());
            Assert.Equal(RpcStatus.DeadlineExceeded, error.Status);
        }

        var entry = (await health.CheckHealthAsync(ct)).Entries["rpc-circuits"];
        Assert.Equal(HealthStatus.Degraded, entry.Status);
        Assert.Equal("Open", entry.Data["unanswered"]);
        Assert.Contains("unanswered", entry.Description, StringComparison.Ordinal);
    }
}
