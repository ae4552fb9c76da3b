using Microsoft.Extensions.Logging;

namespace Messaging.Groups;

/// <summary>The group member's log events, source-generated (a disabled level costs one check and no formatting).</summary>
internal sealed partial class GroupLog(ILogger logger)
{
    private readonly ILogger _logger = logger;

    public bool IsEnabled(LogLevel level) => _logger.IsEnabled(level);

    [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "Group {GroupId}: coordinator is {Coordinator}")]
    public partial void CoordinatorFound(string groupId, string coordinator);

    [LoggerMessage(EventId = 302, Level = LogLevel.Information, Message = "Group {GroupId}: coordinator {Coordinator} marked unknown: {Reason}")]
    public partial void CoordinatorUnknown(string groupId, string coordinator, string reason);

    [LoggerMessage(EventId = 303, Level = LogLevel.Debug, Message = "Group {GroupId}: coordinator lookup failed; retrying in {BackoffMs} ms: {Reason}")]
    public partial void CoordinatorLookupFailed(string groupId, double backoffMs, string reason);

    [LoggerMessage(EventId = 304, Level = LogLevel.Information, Message = "Group {GroupId}: joined generation {Generation} as {MemberId} (protocol {Protocol}, leader: {IsLeader})")]
    public partial void Joined(string groupId, int generation, string memberId, string? protocol, bool isLeader);

    [LoggerMessage(EventId = 305, Level = LogLevel.Information, Message = "Group {GroupId}: {Api} failed with {Error}; {Action}")]
    public partial void GroupError(string groupId, ApiKey api, ErrorCode error, string action);

    [LoggerMessage(EventId = 306, Level = LogLevel.Information, Message = "Group {GroupId}: rejoining: {Reason}")]
    public partial void RejoinRequested(string groupId, string reason);

    [LoggerMessage(EventId = 307, Level = LogLevel.Information, Message = "Group {GroupId}: member {MemberId} leaving: {Reason}")]
    public partial void Leaving(string groupId, string memberId, string reason);

    [LoggerMessage(EventId = 308, Level = LogLevel.Warning, Message = "Group {GroupId}: the application has not polled for {ElapsedMs} ms, longer than the max poll interval ({MaxPollMs} ms): the member leaves the group and rejoins when the application polls again. Poll more often, process less per poll, or raise MaxPollInterval.")]
    public partial void PollTimeoutExpired(string groupId, double elapsedMs, double maxPollMs);

    [LoggerMessage(EventId = 309, Level = LogLevel.Error, Message = "Group {GroupId}: the member stops for good")]
    public partial void Failed(string groupId, Exception error);

    [LoggerMessage(EventId = 310, Level = LogLevel.Warning, Message = "Group {GroupId}: a rebalance callback failed")]
    public partial void CallbackFailed(string groupId, Exception error);

    [LoggerMessage(EventId = 311, Level = LogLevel.Debug, Message = "Group {GroupId}: {Operation} failed; retrying in {BackoffMs} ms: {Reason}")]
    public partial void Retrying(string groupId, string operation, double backoffMs, string reason);

    [LoggerMessage(EventId = 312, Level = LogLevel.Information, Message = "Group {GroupId}: member {MemberId} now at epoch {Epoch}")]
    public partial void EpochChanged(string groupId, string memberId, int epoch);

    [LoggerMessage(EventId = 313, Level = LogLevel.Warning, Message = "Group {GroupId}: an automatic commit failed; the offsets stay stored and the next commit retries them")]
    public partial void AutoCommitFailed(string groupId, Exception error);

    [LoggerMessage(EventId = 315, Level = LogLevel.Debug, Message = "Group {GroupId}: an automatic commit waits for the rebalance to complete; the offsets stay stored")]
    public partial void AutoCommitDeferred(string groupId);

    [LoggerMessage(EventId = 317, Level = LogLevel.Debug, Message = "Group {GroupId}: a background automatic commit still out is superseded by a commit of every stored offset (a revocation's, the close's or the application's)")]
    public partial void AutoCommitSuperseded(string groupId);

    [LoggerMessage(EventId = 318, Level = LogLevel.Warning, Message = "Group {GroupId}: {Capacity} errors already wait for the application's next consume calls; this one is not added to them")]
    public partial void PendingFailureDropped(string groupId, int capacity, Exception error);

    [LoggerMessage(EventId = 316, Level = LogLevel.Warning, Message = "Group {GroupId}: matching the subscription pattern timed out (its MatchTimeout, {TimeoutMs} ms) on {Count} topic(s): {Topics}; each keeps its place in the subscription until a later check matches it")]
    public partial void PatternMatchTimedOut(string groupId, double timeoutMs, int count, string topics);

    [LoggerMessage(EventId = 314, Level = LogLevel.Information, Message = "Group {GroupId}: {Change} {Count} partition(s): {Partitions}")]
    public partial void AssignmentChanged(string groupId, string change, int count, string partitions);
}
