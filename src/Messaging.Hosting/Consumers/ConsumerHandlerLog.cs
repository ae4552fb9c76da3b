using Messaging.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Messaging.Hosting;

/// <summary>The hosted consumer's log events, source-generated (a disabled level costs one check and no formatting).</summary>
internal sealed partial class ConsumerHandlerLog(ILogger logger)
{
    private readonly ILogger _logger = GuardedLogger.Wrap(logger); // a throwing logger must not end a loop or replace an error

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Hosted consumer {Name} subscribed to {Topics} as group {GroupId}")]
    public partial void Subscribed(string name, IEnumerable<string> topics, string groupId);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Hosted consumer {Name}: attempt {Attempt} of {MaxAttempts} for {Partition} at offset {Offset} failed")]
    public partial void AttemptFailed(string name, int attempt, int maxAttempts, TopicPartition partition, long offset, Exception exception);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "Hosted consumer {Name}: {Partition} at offset {Offset} went to dead-letter topic {DeadLetterTopic} after {Attempts} attempt(s): {Reason}")]
    public partial void DeadLettered(string name, TopicPartition partition, long offset, string deadLetterTopic, int attempts, string reason);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Error, Message = "Hosted consumer {Name}: {Partition} is stopped at offset {Offset} (nothing after it is handled or committed until the partition is reassigned or the service restarts): {Reason}")]
    public partial void PartitionStopped(string name, TopicPartition partition, long offset, string reason, Exception? exception);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Critical, Message = "Hosted consumer {Name} stopped: its group member failed for good")]
    public partial void MemberFailed(string name, Exception exception);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Information, Message = "Hosted consumer {Name} stopping: waiting up to {DrainTimeout} for {InFlight} partition(s) with a handler in flight")]
    public partial void Draining(string name, TimeSpan drainTimeout, int inFlight);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Warning, Message = "Hosted consumer {Name}: handlers of {Partitions} partition(s) did not finish within {DrainTimeout}; cancelled, their records are not committed and run again elsewhere")]
    public partial void DrainTimedOut(string name, int partitions, TimeSpan drainTimeout);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Warning, Message = "Hosted consumer {Name}: committing the handled offsets failed; the records after the last commit run again elsewhere")]
    public partial void CommitFailed(string name, Exception exception);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Error, Message = "Hosted consumer {Name}: reading {Partition} failed; the consumer holds the partition at offset {Offset}")]
    public partial void ConsumeFailed(string name, TopicPartition partition, long offset, Exception exception);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Information, Message = "Hosted consumer {Name} stopped")]
    public partial void Stopped(string name);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Error, Message = "Hosted consumer {Name}: a rebalance failed and the member rejoins its group; consuming goes on")]
    public partial void RebalanceFailed(string name, Exception exception);
}
