using System.Diagnostics;
using System.Text;

namespace Messaging.Rpc;

/// <summary>
/// W3C trace context in record headers: <c>traceparent</c> (and <c>tracestate</c> when set) written on a request
/// from the caller's span, read back on the other side to make the server's span its child. The header names and
/// formats are the W3C ones OpenTelemetry's Kafka instrumentations use, so traces join across languages.
/// </summary>
internal static class RpcTraceContext
{
    private static readonly byte[] TraceParent = Encoding.UTF8.GetBytes(RpcTelemetry.TraceParentHeader);
    private static readonly byte[] TraceState = Encoding.UTF8.GetBytes(RpcTelemetry.TraceStateHeader);

    /// <summary>Headers <see cref="Inject"/> may write at most.</summary>
    public const int MaxHeaders = 2;

    /// <summary>
    /// Writes the trace context of <paramref name="activity"/> into <paramref name="headers"/>; returns how many
    /// headers it wrote (none for a null activity or one not in W3C format). The values are new arrays the producer
    /// copies, so they need not outlive the produce call.
    /// </summary>
    public static int Inject(Activity? activity, Span<RecordHeader> headers)
    {
        if (activity is null || activity.IdFormat != ActivityIdFormat.W3C || activity.Id is not { } id)
        {
            return 0;
        }

        headers[0] = new RecordHeader(TraceParent, Encoding.UTF8.GetBytes(id));
        if (activity.TraceStateString is { Length: > 0 } state)
        {
            headers[1] = new RecordHeader(TraceState, Encoding.UTF8.GetBytes(state));
            return 2;
        }

        return 1;
    }

    /// <summary>Reads the caller's span context from a record's headers (Core's <see cref="KafkaTraceContext"/>: one reader for both layers); false when they carry none or a malformed one.</summary>
    public static bool TryExtract(RecordHeaders headers, out ActivityContext context) => KafkaTraceContext.TryExtract(headers, out context);
}
