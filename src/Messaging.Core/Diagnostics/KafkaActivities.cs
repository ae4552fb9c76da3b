using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Messaging.Diagnostics;

/// <summary>
/// The produce and consume spans, after OpenTelemetry's semantic conventions for messaging (Kafka): span names
/// <c>send {topic}</c> and <c>receive {topic}</c>, and the <c>messaging.*</c> attributes. Callers check
/// <see cref="IsEnabled"/> first, so nothing is made, formatted or allocated while no listener samples the source.
/// </summary>
internal static class KafkaActivities
{
    public static readonly ActivitySource Source = new(KafkaTelemetry.ActivitySourceName, "1.0");

    public static bool IsEnabled => Source.HasListeners();

    // Span names per topic, made once: with a listener attached (even one that samples little), every record would
    // otherwise concatenate its span name before the sampling decision.
    private static readonly ConcurrentDictionary<string, string> SendNames = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, string> ReceiveNames = new(StringComparer.Ordinal);

    /// <summary>Starts a producer span for one record (a child of the current activity), or null when not sampled.</summary>
    public static Activity? StartSend(string topic, string clientId)
    {
        var activity = Source.StartActivity(SendNames.GetOrAdd(topic, static t => "send " + t), ActivityKind.Producer);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("messaging.system", "kafka");
            activity.SetTag("messaging.operation.name", "send");
            activity.SetTag("messaging.operation.type", "send");
            activity.SetTag("messaging.destination.name", topic);
            activity.SetTag("messaging.client.id", clientId);
        }

        return activity;
    }

    /// <summary>The record was acknowledged: where it landed.</summary>
    public static void Delivered(Activity activity, int partition, long offset)
    {
        if (activity.IsAllDataRequested)
        {
            activity.SetTag("messaging.destination.partition.id", partition.ToString(CultureInfo.InvariantCulture));
            activity.SetTag("messaging.kafka.offset", offset);
        }
    }

    /// <summary>The record failed: the span's status and <c>error.type</c>.</summary>
    public static void Failed(Activity activity, Exception error)
    {
        activity.SetStatus(ActivityStatusCode.Error, error.Message);
        if (activity.IsAllDataRequested)
        {
            activity.SetTag("error.type", error.GetType().FullName);
        }
    }

    /// <summary>
    /// Records a consumer span for records handed to the application (one record, or a batch of
    /// <paramref name="count"/>), linked to each producer span found in their headers. The span ends at once: the
    /// application's processing happens after the hand-over, in its own spans.
    /// </summary>
    public static void Received(string topic, int partition, long offset, int count, string? group, string clientId, ReadOnlySpan<ActivityContext> producers)
    {
        List<ActivityLink>? links = null;
        if (!producers.IsEmpty)
        {
            links = new List<ActivityLink>(producers.Length);
            foreach (var producer in producers)
            {
                links.Add(new ActivityLink(producer));
            }
        }

        using var activity = Source.StartActivity(ActivityKind.Consumer, default(ActivityContext), links: links, name: ReceiveNames.GetOrAdd(topic, static t => "receive " + t));
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("messaging.system", "kafka");
            activity.SetTag("messaging.operation.name", "receive");
            activity.SetTag("messaging.operation.type", "receive");
            activity.SetTag("messaging.destination.name", topic);
            activity.SetTag("messaging.destination.partition.id", partition.ToString(CultureInfo.InvariantCulture));
            activity.SetTag("messaging.kafka.offset", offset);
            activity.SetTag("messaging.client.id", clientId);
            if (count != 1)
            {
                activity.SetTag("messaging.batch.message_count", count);
            }

            if (group is not null)
            {
                activity.SetTag("messaging.consumer.group.name", group);
            }
        }
    }
}
