using Messaging.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Messaging.Hosting;

/// <summary>The hosted RPC server's log events, source-generated.</summary>
internal sealed partial class RpcServerHostingLog(ILogger logger)
{
    private readonly ILogger _logger = GuardedLogger.Wrap(logger); // a throwing logger must not end a loop or replace an error

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "RPC server {Name} started: serving {Topics} as group {GroupId}")]
    public partial void Started(string name, IEnumerable<string> topics, string groupId);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Information, Message = "RPC server {Name} stopped")]
    public partial void Stopped(string name);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Warning, Message = "RPC server {Name}: the host stopped waiting before the server finished draining (its DrainTimeout {DrainTimeout} is longer than the host's shutdown timeout); requests not answered by then run again elsewhere")]
    public partial void StopAbandoned(string name, TimeSpan drainTimeout);
}
