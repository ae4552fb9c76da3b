using System.Collections.Concurrent;
using Messaging.IntegrationTests.Support;
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
