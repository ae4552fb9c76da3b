using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Messaging.Hosting;

/// <summary>
/// Healthy when the cluster answers a metadata request within the check's timeout (the data says how many brokers
/// and which controller); unhealthy with the client's typed error otherwise. Reads through the registered
/// <see cref="KafkaAdminClient"/>, so it uses the same bootstrap servers, security and timeouts as the service.
/// </summary>
internal sealed class KafkaHealthCheck(KafkaAdminClient admin, TimeSpan timeout) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(timeout);
        try
        {
            var cluster = await admin.DescribeClusterAsync(bounded.Token).ConfigureAwait(false);
            var data = new Dictionary<string, object>(StringComparer.Ordinal)
            {
                ["brokers"] = cluster.Brokers.Count,
                ["controller"] = cluster.ControllerId,
                ["cluster.id"] = cluster.ClusterId ?? "",
            };
            return cluster.Brokers.Count > 0
                ? HealthCheckResult.Healthy($"{cluster.Brokers.Count} broker(s) reachable", data)
                : new HealthCheckResult(context.Registration.FailureStatus, "the cluster answered with no brokers", data: data);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"no metadata answer within {timeout.TotalSeconds:0.#} s");
        }
        catch (KafkaException e)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, e.Message, e);
        }
    }
}
