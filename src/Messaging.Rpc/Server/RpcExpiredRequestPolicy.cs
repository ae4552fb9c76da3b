namespace Messaging.Rpc;

/// <summary>What an <see cref="RpcServer"/> does with a request whose deadline passed before its handler could run.</summary>
public enum RpcExpiredRequestPolicy
{
    /// <summary>Skip it silently (the default): the caller has given up already, and a reply would only be counted as late.</summary>
    Drop = 0,

    /// <summary>Skip the handler but reply with <see cref="RpcStatus.DeadlineExceeded"/> (for callers with clocks behind the server's).</summary>
    ReplyDeadlineExceeded = 1,
}
