using Microsoft.Extensions.Logging;

namespace Messaging.Diagnostics;

/// <summary>
/// The client's log events, source-generated so a disabled level costs one check and no formatting. Silent by
/// default (<c>KafkaClientOptions.LoggerFactory</c> is a null factory until the application sets one).
/// </summary>
internal sealed partial class KafkaLog(ILogger logger)
{
    private readonly ILogger _logger = logger;

    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Connected to {Broker} in {ElapsedMs} ms (ApiVersions v{ApiVersionsVersion})")]
    public partial void Connected(string broker, double elapsedMs, short apiVersionsVersion);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Disconnected from {Broker}: {Reason}")]
    public partial void Disconnected(string broker, string reason);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Could not connect to {Broker}; next attempt in {BackoffMs} ms: {Reason}")]
    public partial void ReconnectBackoff(string broker, double backoffMs, string reason);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "{Broker} does not support ApiVersions v{Version}; retrying with v{Retry}")]
    public partial void ApiVersionsFallback(string broker, short version, short retry);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, Message = "Metadata changed: {Brokers} brokers, {Topics} topics, controller {Controller}")]
    public partial void MetadataChanged(int brokers, int topics, int controller);

    [LoggerMessage(EventId = 6, Level = LogLevel.Debug, Message = "{Broker} throttled {ApiKey} for {ThrottleMs} ms")]
    public partial void Throttled(string broker, Messaging.ApiKey apiKey, int throttleMs);

    [LoggerMessage(EventId = 7, Level = LogLevel.Debug, Message = "Closing {Broker}: idle for {IdleMs} ms")]
    public partial void IdleClosed(string broker, double idleMs);
}
