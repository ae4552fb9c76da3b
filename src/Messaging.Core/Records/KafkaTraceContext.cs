using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Messaging;

/// <summary>
/// W3C Trace Context in record headers (<c>traceparent</c>, <c>tracestate</c>, as the OpenTelemetry Kafka
/// instrumentations of other clients write them): how a producer's span reaches the consumer of its record.
/// </summary>
public static class KafkaTraceContext
{
    /// <summary>The W3C <c>traceparent</c> header name.</summary>
    public const string TraceParentHeader = "traceparent";

    /// <summary>The W3C <c>tracestate</c> header name.</summary>
    public const string TraceStateHeader = "tracestate";

    private static ReadOnlySpan<byte> TraceParentUtf8 => "traceparent"u8;

    private static ReadOnlySpan<byte> TraceStateUtf8 => "tracestate"u8;

    /// <summary>
    /// Returns <paramref name="headers"/> with <paramref name="activity"/>'s context added as <c>traceparent</c> (and
    /// <c>tracestate</c>), unless the headers carry a <c>traceparent</c> already (a caller that set its own context
    /// keeps it).
    /// </summary>
    /// <param name="headers">The record's headers, or null.</param>
    /// <param name="activity">The span whose context travels with the record.</param>
    /// <returns>The headers to send (a new list when one was added).</returns>
    public static IReadOnlyList<RecordHeader> Inject(IReadOnlyList<RecordHeader>? headers, Activity activity)
    {
        ArgumentNullException.ThrowIfNull(activity);
        if (headers is not null)
        {
            foreach (var header in headers)
            {
                if (header.KeyEquals(TraceParentUtf8))
                {
                    return headers;
                }
            }
        }

        var count = headers?.Count ?? 0;
        var result = new List<RecordHeader>(count + MaxHeaders);
        if (headers is not null)
        {
            result.AddRange(headers);
        }

        CollectionsMarshal.SetCount(result, count + MaxHeaders);
        var written = Inject(activity, CollectionsMarshal.AsSpan(result)[count..]);
        CollectionsMarshal.SetCount(result, count + written);
        return result;
    }

    /// <summary>The most headers <see cref="Inject(Activity?, Span{RecordHeader})"/> writes.</summary>
    public const int MaxHeaders = 2;

    /// <summary>
    /// Writes <paramref name="activity"/>'s context into <paramref name="headers"/> as <c>traceparent</c> (and
    /// <c>tracestate</c> when it has one), for callers that build a record's headers in a span.
    /// </summary>
    /// <param name="activity">The span whose context travels with the record, or null.</param>
    /// <param name="headers">Room for at least <see cref="MaxHeaders"/> headers.</param>
    /// <returns>How many headers were written: none for a null activity or one not in W3C format.</returns>
    public static int Inject(Activity? activity, Span<RecordHeader> headers)
    {
        if (activity is null || activity.IdFormat != ActivityIdFormat.W3C || activity.Id is not { } id)
        {
            return 0;
        }

        headers[0] = new RecordHeader(TraceParentHeader, Encoding.ASCII.GetBytes(id));
        if (activity.TraceStateString is { Length: > 0 } traceState)
        {
            headers[1] = new RecordHeader(TraceStateHeader, Encoding.ASCII.GetBytes(traceState));
            return 2;
        }

        return 1;
    }

    /// <summary>Reads a record's trace context from its headers (as sent by any W3C-propagating producer).</summary>
    /// <param name="headers">The record's headers.</param>
    /// <param name="context">The producer's span context, when found and valid.</param>
    /// <returns>True when a valid <c>traceparent</c> was found.</returns>
    public static bool TryExtract(IReadOnlyList<RecordHeader>? headers, out ActivityContext context)
    {
        context = default;
        if (headers is null)
        {
            return false;
        }

        RecordHeader? parent = null;
        RecordHeader? state = null;
        foreach (var header in headers)
        {
            if (header.KeyEquals(TraceParentUtf8))
            {
                parent = header;
            }
            else if (header.KeyEquals(TraceStateUtf8))
            {
                state = header;
            }
        }

        return parent is { } found && Parse(found, state, out context);
    }

    /// <summary>Reads a consumed record's trace context from its headers.</summary>
    /// <param name="headers">The record's headers.</param>
    /// <param name="context">The producer's span context, when found and valid.</param>
    /// <returns>True when a valid <c>traceparent</c> was found.</returns>
    public static bool TryExtract(RecordHeaders headers, out ActivityContext context)
    {
        context = default;
        if (headers.Count == 0 || !headers.TryGetLast(TraceParentUtf8, out var parent))
        {
            return false;
        }

        return Parse(parent, headers.TryGetLast(TraceStateUtf8, out var state) ? state : null, out context);
    }

    private static bool Parse(RecordHeader parent, RecordHeader? state, out ActivityContext context)
    {
        context = default;
        var value = parent.Value.Span;
        if (parent.IsValueNull || value.Length is < 55 or > 128)
        {
            return false; // a version-00 traceparent is 55 characters; anything far off is not one
        }

        var traceState = state is { IsValueNull: false } s && s.Value.Length <= 512 ? Encoding.ASCII.GetString(s.Value.Span) : null;
        return ActivityContext.TryParse(Encoding.ASCII.GetString(value), traceState, isRemote: true, out context);
    }
}
