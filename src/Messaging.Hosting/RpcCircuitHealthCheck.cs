using Messaging.Rpc;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Messaging.Hosting;

/// <summary>
/// Healthy while every circuit breaker of the <see cref="RpcClient"/> is closed; degraded while one is half-open
/// (probing); the registration's failure status while one is open. The data says each request topic's state.
/// </summary>
internal sealed class RpcCircuitHealthCheck(RpcClient client) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>(StringComparer.Ordinal);
        var open = new List<string>();
        var halfOpen = 0;
        foreach (var (topic, state) in client.CircuitStates)
        {
            data[topic] = state.ToString();
            if (state == RpcCircuitState.Open)
            {
                open.Add(topic);
            }
            else if (state == RpcCircuitState.HalfOpen)
            {
                halfOpen++;
            }
        }

        var result = open.Count > 0
            ? new HealthCheckResult(context.Registration.FailureStatus, "circuit open for " + string.Join(", ", open), data: data)
            : halfOpen > 0
                ? HealthCheckResult.Degraded($"{halfOpen} circuit(s) half-open", data: data)
                : HealthCheckResult.Healthy($"{data.Count} circuit(s) closed", data);
        return Task.FromResult(result);
    }
}
