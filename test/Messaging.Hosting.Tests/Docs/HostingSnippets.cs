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
}
