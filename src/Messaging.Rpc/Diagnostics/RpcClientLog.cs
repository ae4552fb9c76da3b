using Messaging.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Messaging.Rpc;

/// <summary>The RPC client's own log events (resilience), source-generated: a disabled level costs one check.</summary>
internal sealed partial class RpcClientLog(ILogger logger)
{
    private readonly ILogger _logger = GuardedLogger.Wrap(logger); // a throwing logger must not end a loop or replace an error

    [LoggerMessage(EventId = 1010, Level = LogLevel.Debug, Message = "Retrying {Method} on {Topic} (attempt {Attempt}, correlation id {CorrelationId}) in {DelayMs} ms after {Status}")]
    public partial void Retrying(string method, string topic, int attempt, Guid correlationId, double delayMs, RpcStatus status);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Debug, Message = "Hedging {Method} on {Topic}: no reply after {DelayMs} ms (correlation id {CorrelationId})")]
    public partial void Hedging(string method, string topic, double delayMs, Guid correlationId);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Warning, Message = "Circuit for request topic {Topic} opened for {BreakMs} ms: {Reason}")]
    public partial void CircuitOpened(string topic, double breakMs, string reason);

    [LoggerMessage(EventId = 1013, Level = LogLevel.Information, Message = "Circuit for request topic {Topic} half-open: the next call probes it")]
    public partial void CircuitHalfOpened(string topic);

    [LoggerMessage(EventId = 1014, Level = LogLevel.Information, Message = "Circuit for request topic {Topic} closed")]
    public partial void CircuitClosed(string topic);
}
