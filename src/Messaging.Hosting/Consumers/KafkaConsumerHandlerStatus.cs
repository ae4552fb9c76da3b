using System.Collections.Concurrent;

namespace Messaging.Hosting;

/// <summary>
/// Where a hosted consumer stands, for its health check: running (a member with an assignment, or waiting for one),
/// stopping, stopped, or failed for good; and the partitions it stopped because a record could not be handled.
/// One per registration (a keyed singleton), written by the hosted service, read by the check.
/// </summary>
internal sealed class KafkaConsumerHandlerStatus(string name)
{
    private readonly ConcurrentDictionary<TopicPartition, string> _stoppedPartitions = new();
    private volatile State _state;
    private volatile Exception? _failure;
    private volatile IKafkaConsumer? _consumer;

    internal enum State
    {
        NotStarted,
        Starting,
        Running,
        Stopping,
        Stopped,
        Failed,
    }

    /// <summary>The registration's name (the handler type), for messages.</summary>
    public string Name { get; } = name;

    public State Current => _state;

    public Exception? Failure => _failure;

    public IKafkaConsumer? Consumer => _consumer;

    /// <summary>Partitions held after a record failed for good, with why.</summary>
    public IReadOnlyDictionary<TopicPartition, string> StoppedPartitions => _stoppedPartitions;

    public void Starting() => _state = State.Starting;

    public void Running(IKafkaConsumer consumer)
    {
        _consumer = consumer;
        _state = State.Running;
    }

    public void Stopping() => _state = State.Stopping;

    public void Stopped()
    {
        if (_state != State.Failed)
        {
            _state = State.Stopped;
        }
    }

    public void Failed(Exception failure)
    {
        _failure = failure;
        _state = State.Failed;
    }

    public void PartitionStopped(TopicPartition partition, string reason) => _stoppedPartitions[partition] = reason;

    /// <summary>A partition left this member: whoever owns it next starts over from its committed offset.</summary>
    public void PartitionReleased(TopicPartition partition) => _stoppedPartitions.TryRemove(partition, out _);
}
