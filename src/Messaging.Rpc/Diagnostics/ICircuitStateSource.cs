namespace Messaging.Rpc;

/// <summary>Something that holds circuit breakers per request topic and can say their states (for the metrics gauge).</summary>
internal interface ICircuitStateSource
{
    IEnumerable<KeyValuePair<string, RpcCircuitState>> CircuitStates { get; }
}
