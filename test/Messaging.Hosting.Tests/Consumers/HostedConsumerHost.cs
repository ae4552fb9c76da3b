using System.Diagnostics;
using Messaging.Serialization;
using Messaging.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Messaging.Hosting.Tests.Consumers;

/// <summary>
/// Builds the generic hosts of the hosted-consumer tests: a handler registered from an "Orders" configuration section
/// (its consumer under "Orders:Consumer"), its health check named "orders", and the embedded cluster behind it.
/// </summary>
internal static class HostedConsumerHost
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    public static EmbeddedKafkaCluster StartCluster(string topic, int partitions)
    {
        var cluster = EmbeddedKafkaCluster.Start(brokers: 1);
        cluster.SetGroupInitialRebalanceDelay(TimeSpan.FromMilliseconds(100));
        cluster.CreateTopic(topic, partitions);
        return cluster;
    }

    public static string NewGroup() => "group-" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>The configuration of a hosted consumer of <paramref name="topic"/> in <paramref name="group"/>, plus <paramref name="extra"/>.</summary>
    public static Dictionary<string, string?> Settings(string bootstrap, string topic, string group, params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["Orders:Topics:0"] = topic,
            ["Orders:Consumer:BootstrapServers"] = bootstrap,
            ["Orders:Consumer:GroupId"] = group,
            ["Orders:Consumer:AutoOffsetReset"] = "Earliest",
            ["Orders:Consumer:AutoCommitInterval"] = "00:00:00.200",
            ["Orders:Consumer:SessionTimeout"] = "00:00:06",
            ["Orders:Consumer:HeartbeatInterval"] = "00:00:00.300",
            ["Orders:Consumer:RebalanceTimeout"] = "00:00:10",
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }

    public static IHost Build<THandler>(Dictionary<string, string?> settings, HandlingLog log, Action<HostApplicationBuilder>? more = null)
        where THandler : class, IKafkaRecordHandler<string, string>
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddSingleton(log);
        builder.Services.AddKafkaConsumerHandler<THandler, string, string>(builder.Configuration.GetSection("Orders"));
        builder.Services.AddHealthChecks().AddKafkaConsumerHandler<THandler>(name: "orders");
        more?.Invoke(builder);
        return builder.Build();
    }

    public static async Task<HealthReportEntry> HealthAsync(IHost host, CancellationToken cancellationToken) =>
        (await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(cancellationToken)).Entries["orders"];

    /// <summary>Asks the "orders" check until <paramref name="condition"/> holds; fails with the last report after the deadline.</summary>
    public static async Task<HealthReportEntry> HealthUntilAsync(IHost host, Func<HealthReportEntry, bool> condition, string what, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            var entry = await HealthAsync(host, cancellationToken);
            if (condition(entry))
            {
                return entry;
            }

            Assert.True(Stopwatch.GetElapsedTime(started) < Deadline, what + " (last: " + entry.Status + ", " + entry.Description + ")");
            await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken);
        }
    }

    /// <summary>The first record of a dead-letter topic's partition 0: its key, value and headers (copied; in order).</summary>
    public static async Task<(byte[]? Key, byte[]? Value, List<KeyValuePair<string, string>> Headers)> ReadFirstDeadLetterAsync(string bootstrap, string topic,
        CancellationToken cancellationToken)
    {
        await using var reader = new KafkaConsumer<byte[]?, byte[]?>(new KafkaConsumerOptions { BootstrapServers = bootstrap }, Deserializers.ByteArray, Deserializers.ByteArray);
        reader.Assign([new TopicPartitionOffset(topic, 0, OffsetSpec.Earliest)]);
        using var within = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        within.CancelAfter(Deadline);
        await foreach (var record in reader.ConsumeAsync(within.Token))
        {
            return (record.Key, record.Value, record.Headers.Select(h => KeyValuePair.Create(h.Key, System.Text.Encoding.UTF8.GetString(h.Value.Span))).ToList());
        }

        throw new InvalidOperationException("no dead letter on " + topic);
    }

    public static async Task ProduceAsync(KafkaProducer producer, string topic, int partition, string key, string value, CancellationToken cancellationToken, params RecordHeader[] headers) =>
        await producer.ProduceAsync(topic, System.Text.Encoding.UTF8.GetBytes(key), System.Text.Encoding.UTF8.GetBytes(value), headers, partition, cancellationToken: cancellationToken);

    /// <summary>Produces <paramref name="perPartition"/> records to each partition (value "partition-index"), all in flight together.</summary>
    public static async Task ProduceEveryPartitionAsync(string bootstrap, string topic, int partitions, int perPartition, CancellationToken cancellationToken)
    {
        await using var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = bootstrap });
        var sends = new List<Task>();
        for (int i = 0; i < perPartition; i++)
        {
            for (int p = 0; p < partitions; p++)
            {
                sends.Add(ProduceAsync(producer, topic, p, "k" + p, p + "-" + i, cancellationToken));
            }
        }

        await Task.WhenAll(sends);
    }
}
