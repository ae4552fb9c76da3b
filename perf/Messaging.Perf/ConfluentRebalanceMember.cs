using System.Globalization;

namespace Messaging.Perf;

// Confluent.Kafka is this file's peer client: its type names (ConsumerConfig, TopicPartition, ...) win over ours here.
using Confluent.Kafka;

/// <summary>
/// Confluent.Kafka as a <c>rebalance</c> group member: <c>Subscribe</c> with assigned/revoked/lost handlers (which
/// librdkafka runs inside <c>Consume</c>, on the member's thread), a typed <c>Consume</c> loop on its own thread.
/// </summary>
internal sealed class ConfluentRebalanceMember : RebalanceMember
{
    private readonly IConsumer<Ignore, byte[]> _consumer;
    private readonly Thread _thread;
    private volatile bool _stop;

    public ConfluentRebalanceMember(string bootstrap, string topic, string groupId, string name, RebalanceSettings settings, PartitionWatch watch)
        : base(watch)
    {
        _consumer = new ConsumerBuilder<Ignore, byte[]>(Config(bootstrap, groupId, name, settings))
            .SetPartitionsAssignedHandler((_, partitions) =>
            {
                foreach (var partition in partitions)
                {
                    Watch.Assigned(partition.Partition.Value);
                }
            })
            .SetPartitionsRevokedHandler((_, partitions) => Removed(partitions))
            .SetPartitionsLostHandler((_, partitions) => Removed(partitions))
            .SetLogHandler(static (_, log) =>
            {
                // Commits refused while the group rebalances are warnings librdkafka logs on every rebalance: keep errors only.
                if (log.Level <= SyslogLevel.Error)
                {
                    Console.Error.WriteLine(log.Name + ": " + log.Message);
                }
            })
            .Build();
        _consumer.Subscribe(topic);
        _thread = new Thread(Read) { IsBackground = true, Name = name };
        _thread.Start();
    }

    public static ConsumerConfig Config(string bootstrap, string groupId, string name, RebalanceSettings settings)
    {
        var c = new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            ClientId = name,
            GroupId = groupId,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = true,
            AutoCommitIntervalMs = settings.AutoCommitMs,
            FetchWaitMaxMs = settings.FetchWaitMs,
            EnablePartitionEof = false,
            ConsumeResultFields = "none",
        };
        if (settings.Classic)
        {
            c.SessionTimeoutMs = settings.SessionTimeoutMs;
            c.HeartbeatIntervalMs = settings.HeartbeatMs;
            c.PartitionAssignmentStrategy = settings.Assignor == "range" ? PartitionAssignmentStrategy.Range : PartitionAssignmentStrategy.CooperativeSticky;
        }
        else
        {
            // KIP-848: the broker assigns and sets the session timeout and heartbeat interval (librdkafka refuses them here).
            c.GroupProtocol = GroupProtocol.Consumer;
        }

        return c;
    }

    public static string Describe(RebalanceSettings settings)
    {
        var c = Config("-", "-", "-", settings);
        var classic = settings.Classic
            ? string.Create(CultureInfo.InvariantCulture, $", partition.assignment.strategy={settings.Assignor}, session.timeout.ms={c.SessionTimeoutMs}, heartbeat.interval.ms={c.HeartbeatIntervalMs}")
            : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"Confluent.Kafka {typeof(IConsumer<,>).Assembly.GetName().Version?.ToString(3)} Subscribe + assigned/revoked/lost handlers, typed Consume(100 ms) loop on a thread; group.protocol={(settings.Classic ? "classic" : "consumer")}{classic}, max.poll.interval.ms=300000 (default), auto.commit.interval.ms={c.AutoCommitIntervalMs}, auto.offset.reset=earliest, fetch.wait.max.ms={c.FetchWaitMaxMs}; leaving = Close");
    }

    public override Task StopReadingAsync()
    {
        _stop = true;
        return Task.Run(_thread.Join);
    }

    public override Task LeaveAsync() => Task.Run(() =>
    {
        _consumer.Close();
        _consumer.Dispose();
    });

    private void Removed(List<TopicPartitionOffset> partitions)
    {
        foreach (var partition in partitions)
        {
            Watch.Removed(partition.Partition.Value);
        }
    }

    private void Read()
    {
        try
        {
            while (!_stop)
            {
                var result = _consumer.Consume(100);
                if (result is not null)
                {
                    Watch.OnDelivered(result.Partition.Value, E2eStamp.Read(result.Message.Value));
                }
            }
        }
        catch (KafkaException ex)
        {
            Failure = ex;
        }
    }
}
