using Messaging.Rpc.Tests.Support;
using CK = Confluent.Kafka;
using Messaging.Testing.Brokers;

namespace Messaging.Rpc.Tests.Server;

/// <summary>Servers on the test broker: short group timings, quick commits, a short fetch wait (the embedded broker answers an empty Fetch only after the whole wait).</summary>
internal static class ServerTestSupport
{
    public const int RequestPartitions = 4;

    public static RpcServerOptions Options(string bootstrap, string requests, string group, string name, Action<RpcServerOptions>? configure = null)
    {
        var options = new RpcServerOptions
        {
            BootstrapServers = bootstrap,
            ClientId = name,
            RequestTopics = [requests],
            GroupId = group,
            CommitInterval = TimeSpan.FromMilliseconds(100),
            DrainTimeout = TimeSpan.FromSeconds(5),
            Producer = new KafkaProducerOptions { Acks = Acks.All, EnableIdempotence = true, CloseTimeout = TimeSpan.FromSeconds(2) },
            Consumer = new KafkaConsumerOptions
            {
                FetchMaxWait = TimeSpan.FromMilliseconds(10),
                AutoOffsetReset = AutoOffsetReset.Earliest,
                SessionTimeout = TimeSpan.FromSeconds(6),
                HeartbeatInterval = TimeSpan.FromMilliseconds(300),
                RebalanceTimeout = TimeSpan.FromSeconds(10),
            },
        };
        configure?.Invoke(options);
        return options;
    }

    /// <summary>A broker with a request topic of <see cref="RequestPartitions"/> partitions and a reply topic of two.</summary>
    public static Task<(ITestBroker Broker, string Requests, string Replies)> BrokerAsync(TestBrokerFixture fixture, CancellationToken cancellationToken) =>
        RpcTestSupport.BrokerAsync(fixture, cancellationToken, RequestPartitions);

    public static string NewGroup() => "rpc-group-" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>Waits until the servers own every request partition between them, each once.</summary>
    public static Task AssignedAsync(CancellationToken cancellationToken, params RpcServer[] servers) =>
        Conditions.WaitUntilAsync(() =>
        {
            var owned = servers.SelectMany(s => s.Assignment).ToList();
            return owned.Count == RequestPartitions && owned.Distinct().Count() == RequestPartitions;
        }, TimeSpan.FromSeconds(60), "the servers own all " + RequestPartitions + " request partitions", cancellationToken);

    /// <summary>
    /// Waits (up to a minute) until consumer group <paramref name="group"/>'s committed offset of
    /// <paramref name="partition"/> reaches <paramref name="offset"/>. Reads the group's offsets with a Confluent
    /// consumer that never subscribes, so it never joins the server's group.
    /// </summary>
    public static async Task WaitForCommitAsync(string bootstrap, string group, CK.TopicPartition partition, long offset, CancellationToken cancellationToken)
    {
        using var reader = new CK.ConsumerBuilder<byte[], byte[]>(new CK.ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = group,
            EnableAutoCommit = false,
        }).Build();
        await Conditions.WaitUntilAsync(() => reader.Committed([partition], TimeSpan.FromSeconds(10))[0].Offset.Value >= offset,
            TimeSpan.FromSeconds(60), $"group {group} committed {partition} at {offset}", cancellationToken);
    }
}
