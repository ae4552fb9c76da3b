using System.Collections.Concurrent;
using Messaging.IntegrationTests.Support;
using Messaging.Rpc;
using Messaging.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Messaging.Hosting.Tests.Docs;

/// <summary>The hosting README's sample, compiled and run (the README sync test in Messaging.IntegrationTests/Docs compares the text).</summary>
public sealed class HostingSnippets
{
    [Fact]
    public async Task Hosting_quickstart_registers_clients_from_configuration()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(brokers: 1);
        cluster.CreateTopic("orders", partitions: 1);
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Kafka:Producer:BootstrapServers"] = cluster.BootstrapServers,
            ["Kafka:Admin:BootstrapServers"] = cluster.BootstrapServers,
        });

        // snippet: hosting-quickstart
        // appsettings.json: { "Kafka": { "Producer": { "BootstrapServers": "broker:9092", "Linger": "00:00:00.005" },
        //                                "Admin": { "BootstrapServers": "broker:9092" } } }
        builder.Services.AddKafkaProducer(builder.Configuration.GetSection("Kafka:Producer"));
        builder.Services.AddKafkaAdminClient(builder.Configuration.GetSection("Kafka:Admin"));
        builder.Services.AddHealthChecks().AddKafka(tags: ["ready"]);
        using var host = builder.Build();
        await host.StartAsync(cancellationToken);   // a wrong setting fails here, naming its key

        var producer = host.Services.GetRequiredService<IKafkaProducer>();
        await producer.ProduceAsync("orders", "order-42"u8.ToArray(), "{}"u8.ToArray(), cancellationToken: cancellationToken);
        // end snippet

        var health = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(cancellationToken);
        Assert.Equal(HealthStatus.Healthy, health.Status);
        await host.StopAsync(cancellationToken);
    }

    [Fact(Timeout = 120_000)]
    public async Task Hosted_consumer_handles_records_from_configuration()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(brokers: 1);
        cluster.CreateTopic("orders", partitions: 3);
        cluster.CreateTopic("orders.dead-letters", partitions: 1);
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Orders:Topics:0"] = "orders",
            ["Orders:MaxConcurrency"] = "8",
            ["Orders:DeadLetterTopic"] = "orders.dead-letters",
            ["Orders:Consumer:BootstrapServers"] = cluster.BootstrapServers,
            ["Orders:Consumer:GroupId"] = "order-service",
            ["Orders:Consumer:AutoOffsetReset"] = "Earliest",
            ["Kafka:Producer:BootstrapServers"] = cluster.BootstrapServers,
        });
        var store = new OrderStore();
        builder.Services.AddSingleton<IOrderStore>(store);

        // snippet: hosting-consumer-handler
        // appsettings.json: { "Orders": { "Topics": [ "orders" ], "MaxConcurrency": 8, "DeadLetterTopic": "orders.dead-letters",
        //                                 "Consumer": { "BootstrapServers": "broker:9092", "GroupId": "order-service" } },
        //                     "Kafka": { "Producer": { "BootstrapServers": "broker:9092" } } }
        builder.Services.AddKafkaProducer(builder.Configuration.GetSection("Kafka:Producer")); // writes the dead letters
        builder.Services.AddKafkaConsumerHandler<OrderHandler, string, string>(builder.Configuration.GetSection("Orders"));
        builder.Services.AddHealthChecks().AddKafkaConsumerHandler<OrderHandler>(tags: ["live"]);
        using var host = builder.Build();
        await host.StartAsync(cancellationToken);   // a wrong setting fails here, naming its key
        // end snippet

        var producer = host.Services.GetRequiredService<IKafkaProducer>();
        await producer.ProduceAsync("orders", "order-42"u8.ToArray(), "{}"u8.ToArray(), cancellationToken: cancellationToken);
        await Eventually.TrueAsync(() => store.Saved.ContainsKey("order-42"), TimeSpan.FromSeconds(60), "the order handled", cancellationToken);
        var health = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(cancellationToken);
        Assert.Equal(HealthStatus.Healthy, health.Status);
        await host.StopAsync(cancellationToken);
    }

    [Fact(Timeout = 120_000)]
    public async Task Hosted_rpc_server_answers_calls_with_di_handlers()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(brokers: 1);
        cluster.SetGroupInitialRebalanceDelay(TimeSpan.FromMilliseconds(100));
        cluster.CreateTopic("pricing", partitions: 2);
        cluster.CreateTopic("pricing.replies", partitions: 1);
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Pricing:BootstrapServers"] = cluster.BootstrapServers,
            ["Pricing:RequestTopics:0"] = "pricing",
            ["Pricing:GroupId"] = "pricing-service",
            ["Pricing:MaxConcurrentRequests"] = "64",
            ["Pricing:Consumer:FetchMaxWait"] = "00:00:00.010", // EmbeddedKafkaCluster.RecommendedFetchMaxWait
        });

        // snippet: hosting-rpc-server
        // appsettings.json: { "Pricing": { "BootstrapServers": "broker:9092", "RequestTopics": [ "pricing" ],
        //                                  "GroupId": "pricing-service", "MaxConcurrentRequests": 64 } }
        builder.Services.AddScoped<IPriceList, PriceList>();
        builder.Services.AddRpcServer(builder.Configuration.GetSection("Pricing"))
            .MapHandler<PriceQuery, Price, GetPriceHandler>("GetPrice");
        using var host = builder.Build();
        await host.StartAsync(cancellationToken);   // a wrong setting fails here, naming its key; the server joins its group
        // ... host.StopAsync: running handlers finish and reply (DrainTimeout), offsets are committed, the member leaves
        // end snippet

        await using var client = new RpcClient(new RpcClientOptions
        {
            BootstrapServers = cluster.BootstrapServers,
            ReplyTopic = "pricing.replies",
            Consumer = { FetchMaxWait = EmbeddedKafkaCluster.RecommendedFetchMaxWait },
        });
        var price = await client.CallAsync<PriceQuery, Price>("pricing", "GetPrice", new PriceQuery("sku-1"), cancellationToken: cancellationToken);
        Assert.Equal(new Price("sku-1", 9.99m), price);
        await host.StopAsync(cancellationToken);
    }

    // snippet: hosting-rpc-handler
    public sealed class GetPriceHandler(IPriceList prices) : IRpcHandler<PriceQuery, Price>
    {
        // Resolved in a new DI scope per request, disposed after it; an RpcException answers with its status, any other exception Internal.
        public async ValueTask<Price> HandleAsync(PriceQuery query, RpcServerContext context) =>
            new(query.Sku, await prices.GetAsync(query.Sku, context.CancellationToken));
    }
    // end snippet

    public sealed record PriceQuery(string Sku);

    public sealed record Price(string Sku, decimal Amount);

    public interface IPriceList
    {
        ValueTask<decimal> GetAsync(string sku, CancellationToken cancellationToken);
    }

    private sealed class PriceList : IPriceList
    {
        public ValueTask<decimal> GetAsync(string sku, CancellationToken cancellationToken) => ValueTask.FromResult(9.99m);
    }

    // snippet: hosting-order-handler
    public sealed class OrderHandler(IOrderStore store) : IKafkaRecordHandler<string, string>
    {
        // Runs in its own DI scope; throwing retries it (MaxAttempts, RetryBackoff), then the record is dead-lettered.
        public ValueTask HandleAsync(ConsumeResult<string, string> record, CancellationToken cancellationToken) =>
            store.SaveAsync(record.Key, record.Value, cancellationToken);
    }
    // end snippet

    public interface IOrderStore
    {
        ValueTask SaveAsync(string id, string order, CancellationToken cancellationToken);
    }

    private sealed class OrderStore : IOrderStore
    {
        public ConcurrentDictionary<string, string> Saved { get; } = new(StringComparer.Ordinal);

        public ValueTask SaveAsync(string id, string order, CancellationToken cancellationToken)
        {
            Saved[id] = order;
            return ValueTask.CompletedTask;
        }
    }
}
