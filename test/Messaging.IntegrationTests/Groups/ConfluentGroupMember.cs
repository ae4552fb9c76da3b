using System.Collections.Concurrent;
using System.Diagnostics;
using Messaging.IntegrationTests.Support;

namespace Messaging.IntegrationTests.Groups;

/// <summary>
/// A Confluent.Kafka (librdkafka) consumer subscribed to a group, polling on its own thread: records what it is
/// handed and its current assignment; commits run on its polling thread when asked.
/// </summary>
internal sealed class ConfluentGroupMember : IDisposable
{
    private readonly Confluent.Kafka.IConsumer<byte[], byte[]> _consumer;
    private readonly ConcurrentQueue<(TaskCompletionSource Done, Action<Confluent.Kafka.IConsumer<byte[], byte[]>> Action)> _commands = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private TopicPartition[] _assignment = [];

    public ConfluentGroupMember(string bootstrap, string group, string topic, Confluent.Kafka.PartitionAssignmentStrategy strategy)
    {
        _consumer = ConfluentClients.Consumer(bootstrap, c =>
        {
            c.GroupId = group;
            c.PartitionAssignmentStrategy = strategy;
            c.SessionTimeoutMs = 6000;
            c.HeartbeatIntervalMs = 300;
            c.EnableAutoCommit = false;
        });
        _consumer.Subscribe(topic);
        _loop = Task.Factory.StartNew(Poll, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Every record handed out: partition, offset, when (Stopwatch ticks).</summary>
    public ConcurrentQueue<(TopicPartition Partition, long Offset, long At)> Deliveries { get; } = new();

    /// <summary>The partitions librdkafka assigned to this consumer, as of its last poll.</summary>
    public IReadOnlyList<TopicPartition> Assignment => Volatile.Read(ref _assignment);

    /// <summary>Commits the positions of what it was handed (librdkafka's stored offsets), on the polling thread.</summary>
    public Task CommitAsync()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _commands.Enqueue((done, static c => c.Commit()));
        return done.Task;
    }

    /// <summary>Leaves the group (librdkafka's close: revoke, leave) and releases the consumer.</summary>
    public void Dispose()
    {
        if (!_stop.IsCancellationRequested)
        {
            _stop.Cancel();
            _loop.GetAwaiter().GetResult();
            _consumer.Close();
            _consumer.Dispose();
            _stop.Dispose();
        }
    }

    private void Poll()
    {
        while (!_stop.IsCancellationRequested)
        {
            while (_commands.TryDequeue(out var command))
            {
                try
                {
                    command.Action(_consumer);
                    command.Done.SetResult();
                }
                catch (Exception ex)
                {
                    command.Done.SetException(ex);
                }
            }

            var record = _consumer.Consume(TimeSpan.FromMilliseconds(50));
            if (record is not null && !record.IsPartitionEOF)
            {
                Deliveries.Enqueue((new TopicPartition(record.Topic, record.Partition.Value), record.Offset.Value, Stopwatch.GetTimestamp()));
            }

            Volatile.Write(ref _assignment, [.. _consumer.Assignment.Select(tp => new TopicPartition(tp.Topic, tp.Partition.Value))]);
        }
    }
}
