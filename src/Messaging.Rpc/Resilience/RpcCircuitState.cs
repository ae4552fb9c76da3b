namespace Messaging.Rpc;

/// <summary>The state of a request topic's circuit breaker (the values the breaker-state gauge reports).</summary>
public enum RpcCircuitState
{
    /// <summary>Calls flow.</summary>
    Closed = 0,

    /// <summary>The break is over: one probe call goes through; its outcome closes or reopens the circuit.</summary>
    HalfOpen = 1,

    /// <summary>Calls fail at once with <see cref="RpcStatus.Unavailable"/> until the break is over.</summary>
    Open = 2,
}
