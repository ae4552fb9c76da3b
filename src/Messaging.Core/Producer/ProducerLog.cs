using Microsoft.Extensions.Logging;

namespace Messaging.Producer;

/// <summary>The producer's log events, source-generated: a disabled level costs one check and no formatting.</summary>
internal sealed partial class ProducerLog(ILogger logger)
{
    private readonly ILogger _logger = logger;

    [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "A delivery handler for {Topic}/{Partition} threw; the exception is ignored")]
    public partial void DeliveryHandlerFailed(Exception exception, string topic, int partition);

    [LoggerMessage(EventId = 101, Level = LogLevel.Error, Message = "{Count} record(s) for {Topic}/{Partition} produced without a delivery handler failed: {Reason}")]
    public partial void RecordsFailedWithoutHandler(int count, string topic, int partition, string reason);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "Producer id {ProducerId}, epoch {Epoch}")]
    public partial void ProducerIdAssigned(long producerId, short epoch);

    [LoggerMessage(EventId = 103, Level = LogLevel.Debug, Message = "Retrying a batch of {Count} record(s) for {Topic}/{Partition} (attempt {Attempt}) after {Error}")]
    public partial void Retrying(int count, string topic, int partition, int attempt, string error);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "InitProducerId failed, retrying: {Reason}")]
    public partial void InitProducerIdRetry(string reason);

    [LoggerMessage(EventId = 105, Level = LogLevel.Debug, Message = "Sender for broker {Broker} cannot connect: {Reason}")]
    public partial void SenderCannotConnect(int broker, string reason);

    [LoggerMessage(EventId = 107, Level = LogLevel.Error, Message = "Producer housekeeping failed; it goes on")]
    public partial void HousekeepingFailed(Exception exception);

    [LoggerMessage(EventId = 108, Level = LogLevel.Warning, Message = "A batch of {Count} record(s) for {Topic}/{Partition} was refused as too large ({Error}); split in two and sent again (batch.size is above what the topic takes)")]
    public partial void BatchSplit(int count, string topic, int partition, string error);

    [LoggerMessage(EventId = 106, Level = LogLevel.Information, Message = "Idempotent producer bumped its epoch to {Epoch} for {Topic}/{Partition}")]
    public partial void EpochBumped(short epoch, string topic, int partition);
}
