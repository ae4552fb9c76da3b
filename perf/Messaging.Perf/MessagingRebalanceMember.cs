using System.Globalization;
using Deserializers = Messaging.Deserializers;
using Ignore = Messaging.Ignore;

namespace Messaging.Perf;

/// <summary>Our client as a <c>rebalance</c> group member: <c>Subscribe</c> with a listener, the typed <c>ConsumeAsync</c> loop on a task.</summary>
internal sealed class MessagingRebalanceMember : RebalanceMember, IConsumerRebalanceListener
{
    private readonly KafkaConsumer<Ignore, byte[]?> _consumer;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public MessagingRebalanceMember(string bootstrap, string topic, string groupId, string name, RebalanceSettings settings, PartitionWatch watch)
        : base(watch)
    {
        _consumer = new KafkaConsumer<Ignore, byte[]?>(Options(bootstrap, groupId, name, settings), Deserializers.Ignore, Deserializers.ByteArray);
        _consumer.Subscribe([topic], this);
        _loop = Task.Run(ReadAsync);
    }

    public static KafkaConsumerOptions Options(string bootstrap, string groupId, string name, RebalanceSettings settings)
    {
        var options = new KafkaConsumerOptions
        {
            BootstrapServers = bootstrap,
            ClientId = name,
            GroupId = groupId,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            AutoCommitInterval = TimeSpan.FromMilliseconds(settings.AutoCommitMs),
            FetchMaxWait = TimeSpan.FromMilliseconds(settings.FetchWaitMs),
        };
        if (settings.Classic)
        {
            options.SessionTimeout = TimeSpan.FromMilliseconds(settings.SessionTimeoutMs);
            options.HeartbeatInterval = TimeSpan.FromMilliseconds(settings.HeartbeatMs);
            options.PartitionAssignmentStrategy = settings.Assignor;
        }
        else
        {
            // KIP-848: the broker assigns and sets the session timeout and heartbeat interval.
            options.GroupProtocol = GroupProtocol.Consumer;
        }

        return options;
    }

    public static string Describe(RebalanceSettings settings)
    {
        var o = Options("-", "-", "-", settings);
        var classic = settings.Classic
            ? string.Create(CultureInfo.InvariantCulture, $", partition.assignment.strategy={o.PartitionAssignmentStrategy}, session.timeout={o.SessionTimeout.TotalMilliseconds} ms, heartbeat.interval={o.HeartbeatInterval.TotalMilliseconds} ms")
            : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"Messaging Subscribe + IConsumerRebalanceListener, ConsumeAsync<Ignore, byte[]> loop; group.protocol={o.GroupProtocol.ToString().ToLowerInvariant()}{classic}, max.poll.interval={o.MaxPollInterval.TotalMilliseconds} ms, auto.commit.interval={o.AutoCommitInterval.TotalMilliseconds} ms, auto.offset.reset=earliest, fetch.max.wait={o.FetchMaxWait.TotalMilliseconds} ms; leaving = DisposeAsync");
    }

    public ValueTask OnPartitionsAssignedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken)
    {
        foreach (var partition in partitions)
        {
            Watch.Assigned(partition.Partition);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask OnPartitionsRevokedAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken)
    {
        foreach (var partition in partitions)
        {
            Watch.Removed(partition.Partition);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask OnPartitionsLostAsync(IReadOnlyCollection<TopicPartition> partitions, CancellationToken cancellationToken) =>
        OnPartitionsRevokedAsync(partitions, cancellationToken);

    public override async Task StopReadingAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
    }

    public override async Task LeaveAsync()
    {
        await _consumer.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task ReadAsync()
    {
        try
        {
            await foreach (var result in _consumer.ConsumeAsync(_stop.Token).ConfigureAwait(false))
            {
                Watch.OnDelivered(result.Partition, E2eStamp.Read(result.Value));
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Stopped for the leave.
        }
        catch (Exception ex) when (ex is KafkaException or InvalidOperationException)
        {
            Failure = ex;
        }
    }
}
