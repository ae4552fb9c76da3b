using System.Globalization;
using System.Text;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Messaging.Hosting;

/// <summary>
/// "Group joined" for a hosted consumer: healthy while it runs as a group member — with an assignment, or waiting for
/// one (joining, or more members than partitions); degraded when it stopped partitions after records that could not
/// be handled; unhealthy when its member failed for good (fenced, not authorized, ...) or it is not running.
/// </summary>
internal sealed class KafkaConsumerHandlerHealthCheck(KafkaConsumerHandlerStatus status) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var state = status.Current;
        var consumer = status.Consumer;
        var data = new Dictionary<string, object>(StringComparer.Ordinal) { ["state"] = state.ToString() };
        if (state == KafkaConsumerHandlerStatus.State.Failed)
        {
            var failure = status.Failure;
            return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus,
                $"hosted consumer {status.Name} failed: {failure?.Message}", failure, data));
        }

        if (state == KafkaConsumerHandlerStatus.State.Starting)
        {
            return Task.FromResult(HealthCheckResult.Healthy($"hosted consumer {status.Name} is starting", data));
        }

        if (state != KafkaConsumerHandlerStatus.State.Running || consumer is null)
        {
            var what = state == KafkaConsumerHandlerStatus.State.Stopping ? "stopping" : state == KafkaConsumerHandlerStatus.State.Stopped ? "stopped" : "not started";
            return Task.FromResult(new HealthCheckResult(context.Registration.FailureStatus, $"hosted consumer {status.Name} is {what}", data: data));
        }

        var assignment = consumer.Assignment;
        data["member.id"] = consumer.MemberId ?? "";
        data["partitions"] = assignment.Count;
        var stopped = status.StoppedPartitions;
        if (stopped.Count > 0)
        {
            var text = new StringBuilder();
            foreach (var (partition, reason) in stopped)
            {
                text.Append(text.Length == 0 ? "" : "; ").Append(partition.ToString()).Append(": ").Append(reason);
            }

            data["stopped.partitions"] = stopped.Count;
            return Task.FromResult(HealthCheckResult.Degraded(
                string.Create(CultureInfo.InvariantCulture, $"hosted consumer {status.Name} stopped {stopped.Count} partition(s): {text}"), data: data));
        }

        var description = consumer.MemberId is null
            ? $"hosted consumer {status.Name} is joining its group"
            : assignment.Count == 0
                ? $"hosted consumer {status.Name} is a group member waiting for an assignment"
                : string.Create(CultureInfo.InvariantCulture, $"hosted consumer {status.Name} is a group member with {assignment.Count} partition(s)");
        return Task.FromResult(HealthCheckResult.Healthy(description, data));
    }
}
