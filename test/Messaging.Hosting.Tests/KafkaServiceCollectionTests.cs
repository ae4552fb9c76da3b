using System.Globalization;
using System.Reflection;
using Messaging.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Messaging.Hosting.Tests;

public sealed class KafkaServiceCollectionTests
{
    [Fact]
    public void Every_plain_setting_of_each_options_type_binds_from_configuration()
    {
        AssertEverySettingBinds<KafkaProducerOptions>((services, section) => services.AddKafkaProducer(section), "Kafka:Producer");
        AssertEverySettingBinds<KafkaConsumerOptions>((services, section) => services.AddKafkaConsumer(section), "Kafka:Consumer");
        AssertEverySettingBinds<KafkaAdminOptions>((services, section) => services.AddKafkaAdminClient(section), "Kafka:Admin");
    }

    [Fact]
    public async Task A_wrong_setting_fails_the_host_at_start_naming_its_configuration_key()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Kafka:Producer:BootstrapServers"] = "localhost:9092",
            ["Kafka:Producer:MaxInFlightRequestsPerConnection"] = "0",
        });
        builder.Services.AddKafkaProducer(builder.Configuration.GetSection("Kafka:Producer"));
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));
        Assert.Contains("Kafka:Producer:MaxInFlightRequestsPerConnection", error.Message, StringComparison.Ordinal);
        Assert.Contains("between 1 and 1024", error.Message, StringComparison.Ordinal);

        // A malformed bootstrap list names its key too (not the parser's parameter).
        var wrongServers = Host.CreateApplicationBuilder();
        wrongServers.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Kafka:Producer:BootstrapServers"] = "no-port" });
        wrongServers.Services.AddKafkaProducer(wrongServers.Configuration.GetSection("Kafka:Producer"));
        using var second = wrongServers.Build();
        var serversError = await Assert.ThrowsAsync<OptionsValidationException>(() => second.StartAsync(TestContext.Current.CancellationToken));
        Assert.Contains("Kafka:Producer:BootstrapServers", serversError.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_registered_producer_is_one_singleton_behind_both_types_uses_the_hosts_logging_and_delivers()
    {
        await using var cluster = EmbeddedKafkaCluster.Start(brokers: 1);
        cluster.CreateTopic("hosted", partitions: 1);
        var services = new ServiceCollection().AddLogging();
        services.AddKafkaProducer(null, options => options.BootstrapServers = cluster.BootstrapServers);
        await using var provider = services.BuildServiceProvider();

        var producer = provider.GetRequiredService<KafkaProducer>();
        Assert.Same(producer, provider.GetRequiredService<IKafkaProducer>());
        Assert.Same(provider.GetRequiredService<ILoggerFactory>(), provider.GetRequiredService<IOptionsMonitor<KafkaProducerOptions>>().CurrentValue.LoggerFactory);
        var delivered = await producer.ProduceAsync("hosted", "k"u8.ToArray(), "v"u8.ToArray(), cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(0, delivered.Offset);
    }

    [Fact]
    public async Task A_pools_section_gives_the_consumer_its_own_pools_and_a_wrong_pool_setting_fails_the_start()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Consumer:BootstrapServers"] = "localhost:9092",
            ["Consumer:PoolSettings:DecompressionBuffers:MaxRetainedBytes"] = "1048576",
            ["Plain:BootstrapServers"] = "localhost:9092",
        }).Build();
        var services = new ServiceCollection();
        services.AddKafkaConsumer(configuration.GetSection("Consumer"), serviceKey: "pooled");
        services.AddKafkaConsumer(configuration.GetSection("Plain"), serviceKey: "plain");
        await using (var provider = services.BuildServiceProvider())
        {
            var monitor = provider.GetRequiredService<IOptionsMonitor<KafkaConsumerOptions>>();
            Assert.NotSame(Messaging.Pools.ConsumerPools.Shared, monitor.Get("pooled").Pools);
            Assert.Same(Messaging.Pools.ConsumerPools.Shared, monitor.Get("plain").Pools);
        }

        var wrong = Host.CreateApplicationBuilder();
        wrong.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Kafka:Consumer:BootstrapServers"] = "localhost:9092",
            ["Kafka:Consumer:PoolSettings:DecompressionBuffers:MinBucketSize"] = "-5",
        });
        wrong.Services.AddKafkaConsumer(wrong.Configuration.GetSection("Kafka:Consumer"));
        using var host = wrong.Build();
        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(TestContext.Current.CancellationToken));
        Assert.Contains("MinBucketSize", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keyed_registrations_are_separate_clients_with_their_own_options()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Orders:BootstrapServers"] = "orders:9092",
            ["Orders:ClientId"] = "orders-producer",
            ["Audit:BootstrapServers"] = "audit:9092",
            ["Audit:ClientId"] = "audit-producer",
        }).Build();
        var services = new ServiceCollection();
        services.AddKafkaProducer(configuration.GetSection("Orders"), serviceKey: "orders");
        services.AddKafkaProducer(configuration.GetSection("Audit"), serviceKey: "audit");
        await using var provider = services.BuildServiceProvider();

        var monitor = provider.GetRequiredService<IOptionsMonitor<KafkaProducerOptions>>();
        Assert.Equal("orders-producer", monitor.Get("orders").ClientId);
        Assert.Equal("audit-producer", monitor.Get("audit").ClientId);
        var orders = provider.GetRequiredKeyedService<IKafkaProducer>("orders");
        var audit = provider.GetRequiredKeyedService<IKafkaProducer>("audit");
        Assert.NotSame(orders, audit);
        Assert.Same(orders, provider.GetRequiredKeyedService<KafkaProducer>("orders"));
        Assert.Null(provider.GetService<IKafkaProducer>());
    }

    [Fact]
    public async Task The_health_check_is_healthy_with_a_broker_and_unhealthy_within_its_timeout_without_one()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(brokers: 2);
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync(cluster.BootstrapServers, ct)).Status);

        // Nothing listens there: the check reports unhealthy within its own timeout, it does not hang the probe.
        var started = TimeProvider.System.GetTimestamp();
        var report = await CheckAsync("127.0.0.1:1", ct);
        Assert.Equal(HealthStatus.Unhealthy, report.Status);
        Assert.True(TimeProvider.System.GetElapsedTime(started) < TimeSpan.FromSeconds(10), "the check took " + TimeProvider.System.GetElapsedTime(started));

        static async Task<HealthReportEntry> CheckAsync(string bootstrap, CancellationToken ct)
        {
            var services = new ServiceCollection().AddLogging();
            services.AddKafkaAdminClient(null, options => options.BootstrapServers = bootstrap);
            services.AddHealthChecks().AddKafka(timeout: TimeSpan.FromSeconds(2));
            await using var provider = services.BuildServiceProvider();
            var report = await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync(ct);
            return report.Entries["kafka"];
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_health_check_without_a_time_limit_is_healthy_with_a_broker(bool infinite)
    {
        // TimeSpan.MaxValue ("no limit"), or Timeout.InfiniteTimeSpan, for the check's timeout.
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = EmbeddedKafkaCluster.Start(brokers: 1);
        var services = new ServiceCollection().AddLogging();
        services.AddKafkaAdminClient(null, options => options.BootstrapServers = cluster.BootstrapServers);
        services.AddHealthChecks().AddKafka(timeout: infinite ? Timeout.InfiniteTimeSpan : TimeSpan.MaxValue);
        await using var provider = services.BuildServiceProvider();

        var entry = (await provider.GetRequiredService<HealthCheckService>().CheckHealthAsync(ct)).Entries["kafka"];

        Assert.True(entry.Status == HealthStatus.Healthy, entry.Status + ": " + entry.Description + " " + entry.Exception);
    }

    private static void AssertEverySettingBinds<TOptions>(Action<IServiceCollection, IConfiguration> register, string section)
        where TOptions : KafkaClientOptions, new()
    {
        var defaults = new TOptions();
        var values = new Dictionary<string, string?>(StringComparer.Ordinal);
        var expected = new Dictionary<PropertyInfo, object>();
        foreach (var property in typeof(TOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.SetMethod is not { IsPublic: true } || Different(property.PropertyType, property.GetValue(defaults)) is not { } value)
            {
                continue; // objects set by code (partitioner, transport, logger factory, pool instances)
            }

            values[section + ":" + property.Name] = Convert.ToString(value, CultureInfo.InvariantCulture);
            expected[property] = value;
        }

        Assert.True(expected.Count >= 10, $"only {expected.Count} plain settings found on {typeof(TOptions).Name}");
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection();
        register(services, configuration.GetSection(section));
        services.RemoveAll<IValidateOptions<TOptions>>(); // the values are distinct, not valid together; validation has its own test
        using var provider = services.BuildServiceProvider();
        var bound = provider.GetRequiredService<IOptionsMonitor<TOptions>>().CurrentValue;
        foreach (var (property, value) in expected)
        {
            Assert.True(Equals(value, property.GetValue(bound)), $"{typeof(TOptions).Name}.{property.Name}: configured {value}, bound {property.GetValue(bound)}");
        }
    }

    /// <summary>A value of a plain setting type that differs from <paramref name="current"/>, or null for other types.</summary>
    private static object? Different(Type type, object? current) => type switch
    {
        _ when type == typeof(string) => (string?)current + "-x",
        _ when type == typeof(bool) => !(bool)current!,
        _ when type == typeof(int) => (int)current! + 7,
        _ when type == typeof(long) => (long)current! + 7,
        _ when type == typeof(short) => (short)((short)current! + 7),
        _ when type == typeof(double) => (double)current! + 0.5,
        _ when type == typeof(TimeSpan) => (TimeSpan)current! + TimeSpan.FromMilliseconds(7),
        _ when type.IsEnum => OtherEnumValue(type, current!),
        _ => null,
    };

    private static object OtherEnumValue(Type type, object current)
    {
        foreach (var value in Enum.GetValues(type))
        {
            if (!Equals(value, current))
            {
                return value;
            }
        }

        return current;
    }
}
