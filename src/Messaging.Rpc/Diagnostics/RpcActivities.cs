using System.Diagnostics;

namespace Messaging.Rpc;

/// <summary>
/// The RPC spans, from the <c>Messaging.Rpc</c> activity source (<see cref="RpcTelemetry.ActivitySourceName"/>),
/// named and tagged as OpenTelemetry's RPC conventions say (<c>{service}/{method}</c>, with the request topic as the
/// service) plus the messaging attributes of the Kafka record that carries the call. Nothing is built — no name, no
/// tag — unless a listener samples the span.
/// </summary>
internal static class RpcActivities
{
    public static readonly ActivitySource Source = new(RpcTelemetry.ActivitySourceName, "1.0");

    /// <summary>A client span for one logical call (its retries and hedges are events on it), or null when nobody listens.</summary>
    public static Activity? StartClientCall(string topic, string method)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Source.StartActivity(topic + "/" + method, ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            SetCallTags(activity, topic, method);
            activity.SetTag("messaging.operation.type", "send");
        }

        return activity;
    }

    /// <summary>
    /// A server span for one request, the child of the caller's span carried in the request's headers (a new trace
    /// when they carry none), or null when nobody listens. For the RPC server.
    /// </summary>
    public static Activity? StartServerCall(string topic, string method, RecordHeaders headers)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        KafkaTraceContext.TryExtract(headers, out var parent);
        var activity = Source.StartActivity(topic + "/" + method, ActivityKind.Server, parent);
        if (activity is { IsAllDataRequested: true })
        {
            SetCallTags(activity, topic, method);
            activity.SetTag("messaging.operation.type", "process");
        }

        return activity;
    }

    /// <summary>Tags the outcome: the status and, on failure, OpenTelemetry's error status and <c>error.type</c>.</summary>
    public static void SetOutcome(Activity activity, RpcStatus status, string? error)
    {
        if (!activity.IsAllDataRequested)
        {
            return;
        }

        activity.SetTag(RpcTelemetry.StatusTag, RpcMetrics.StatusName(status));
        if (status != RpcStatus.Ok)
        {
            activity.SetTag("error.type", RpcMetrics.StatusName(status));
            activity.SetStatus(ActivityStatusCode.Error, error);
        }
    }

    private static void SetCallTags(Activity activity, string topic, string method)
    {
        activity.SetTag(RpcTelemetry.SystemTag, RpcTelemetry.SystemValue);
        activity.SetTag(RpcTelemetry.ServiceTag, topic);
        activity.SetTag(RpcTelemetry.MethodTag, method);
        activity.SetTag("messaging.system", "kafka");
        activity.SetTag("messaging.destination.name", topic);
    }
}
