namespace Messaging.Rpc;

/// <summary>Which side of a call an <see cref="RpcCallContext"/> describes.</summary>
public enum RpcCallSide
{
    /// <summary>An outgoing call made by <see cref="RpcClient"/>.</summary>
    Client = 0,

    /// <summary>An incoming request handled by a server.</summary>
    Server = 1,
}
