using Messaging;
using Messaging.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds Kafka to a service's health checks.</summary>
public static class KafkaHealthChecksBuilderExtensions
{
    private static readonly TimeSpan MaxTimerDelay = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    /// <summary>
    /// Adds a check that the cluster answers a metadata request within <paramref name="timeout"/> (default 5 s),
    /// through the <see cref="KafkaAdminClient"/> registered with <c>AddKafkaAdminClient</c> (keyed by
    /// <paramref name="serviceKey"/> when given).
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name. Default "kafka".</param>
    /// <param name="failureStatus">The status reported on failure. Default unhealthy.</param>
    /// <param name="tags">Tags for filtering checks (for example "ready").</param>
    /// <param name="timeout">How long the metadata request may take (<see cref="Timeout.InfiniteTimeSpan"/>, or anything longer than a timer can wait such as <see cref="TimeSpan.MaxValue"/>: no limit). Default 5 s.</param>
    /// <param name="serviceKey">The key of the admin client to use; null for the default one.</param>
    /// <returns>The builder.</returns>
    public static IHealthChecksBuilder AddKafka(
        this IHealthChecksBuilder builder,
        string name = "kafka",
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null,
        TimeSpan? timeout = null,
        string? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        // A timer waits at most uint.MaxValue - 1 ms (~49.7 days): a longer timeout (TimeSpan.MaxValue) is no limit, as
        // Timeout.InfiniteTimeSpan is; given to the health check service and to the check, it failed every check.
        var bound = timeout ?? TimeSpan.FromSeconds(5);
        if (bound > MaxTimerDelay)
        {
            bound = Timeout.InfiniteTimeSpan;
        }

        return builder.Add(new HealthCheckRegistration(
            name,
            provider => new KafkaHealthCheck(
                serviceKey is null ? provider.GetRequiredService<KafkaAdminClient>() : provider.GetRequiredKeyedService<KafkaAdminClient>(serviceKey),
                bound),
            failureStatus,
            tags,
            bound));
    }

    /// <summary>
    /// Adds a check of the circuit breakers of the <see cref="Messaging.Rpc.RpcClient"/> registered with
    /// <c>AddRpcClient</c> (keyed by <paramref name="serviceKey"/> when given): healthy while all are closed, degraded
    /// while one probes, <paramref name="failureStatus"/> while one is open (data: each request topic's state).
    /// </summary>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name. Default "rpc-circuits".</param>
    /// <param name="failureStatus">The status reported while a circuit is open. Default unhealthy.</param>
    /// <param name="tags">Tags for filtering checks.</param>
    /// <param name="serviceKey">The key of the RPC client to check; null for the default one.</param>
    /// <returns>The builder.</returns>
    public static IHealthChecksBuilder AddRpcCircuitBreakers(
        this IHealthChecksBuilder builder,
        string name = "rpc-circuits",
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null,
        string? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Add(new HealthCheckRegistration(
            name,
            provider => new RpcCircuitHealthCheck(
                serviceKey is null ? provider.GetRequiredService<Messaging.Rpc.RpcClient>() : provider.GetRequiredKeyedService<Messaging.Rpc.RpcClient>(serviceKey)),
            failureStatus,
            tags));
    }
}
