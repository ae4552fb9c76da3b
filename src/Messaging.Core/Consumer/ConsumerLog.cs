using Messaging;
using Microsoft.Extensions.Logging;

namespace Messaging.Consumer;

/// <summary>The consumer's log events, source-generated (a disabled level costs one check and no formatting).</summary>
internal sealed partial class ConsumerLog(ILogger logger)
{
    private readonly ILogger _logger = logger;

    [LoggerMessage(EventId = 101, Level = LogLevel.Debug, Message = "Fetch from broker {NodeId} failed; retrying its {Partitions} partition(s) after the backoff: {Reason}")]
    public partial void FetchFailed(int nodeId, int partitions, string reason);

    [LoggerMessage(EventId = 102, Level = LogLevel.Debug, Message = "{Partition}: {Error} from broker {NodeId}; following the leader through metadata")]
    public partial void LeaderError(TopicPartition partition, ErrorCode error, int nodeId);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "{Partition}: offset {Offset} is out of range; resetting to {Reset} (auto.offset.reset)")]
    public partial void OffsetReset(TopicPartition partition, long offset, AutoOffsetReset reset);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "{Partition} is held at offset {Offset}: {Reason}")]
    public partial void PartitionHeld(TopicPartition partition, long offset, string reason);

    [LoggerMessage(EventId = 105, Level = LogLevel.Debug, Message = "{Partition} now fetched from broker {NodeId} (leader epoch {LeaderEpoch})")]
    public partial void LeaderChanged(TopicPartition partition, int nodeId, int leaderEpoch);

    [LoggerMessage(EventId = 106, Level = LogLevel.Warning, Message = "Consumer maintenance (metadata, offset lookups) failed; retrying after the backoff: {Reason}")]
    public partial void MaintenanceFailed(string reason);

    [LoggerMessage(EventId = 107, Level = LogLevel.Error, Message = "Fetch from broker {NodeId} failed unexpectedly; retrying after the backoff")]
    public partial void FetchCrashed(int nodeId, Exception exception);

    [LoggerMessage(EventId = 108, Level = LogLevel.Warning, Message = "{Partition}: {Error} fetching offset {Offset}; fetching it again after the backoff")]
    public partial void FetchRetried(TopicPartition partition, ErrorCode error, long offset);

    [LoggerMessage(EventId = 109, Level = LogLevel.Warning, Message = "{Partition}: log truncation detected at position {Position}; the leader's log diverges from offset {NewPosition} (leader epoch {LeaderEpoch}), so the position moves back there and records from it are read again from the leader")]
    public partial void LogTruncated(TopicPartition partition, long position, long newPosition, int leaderEpoch);

    [LoggerMessage(EventId = 110, Level = LogLevel.Warning, Message = "{Partition}: log truncation detected at position {Position}, where the leader cannot say; resetting to {Reset} (auto.offset.reset)")]
    public partial void LogTruncatedReset(TopicPartition partition, long position, AutoOffsetReset reset);
}
