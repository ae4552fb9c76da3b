using System.Globalization;

namespace Messaging.Rpc;

/// <summary>Every <see cref="RpcException"/> the client raises (and the server's reply-topic lookups) is built here, so the messages read alike.</summary>
internal static class RpcErrors
{
    /// <summary>
    /// An error for a call: "<c>DeadlineExceeded: no reply within the deadline (method Echo, topic orders,
    /// correlation id ..., after 5,003 ms, request acknowledged by the broker)</c>".
    /// </summary>
    public static RpcException ForCall(RpcStatus status, string detail, string? method, string? topic, Guid correlationId, TimeSpan elapsed,
        bool acknowledged, Exception? inner = null)
    {
        var message = string.Create(CultureInfo.InvariantCulture,
            $"{status}: {detail} (method {method ?? "?"}, topic {topic ?? "?"}, correlation id {correlationId}, after {elapsed.TotalMilliseconds:N0} ms, request {(acknowledged ? "acknowledged" : "not acknowledged")} by the broker)");
        return new RpcException(status, message, detail, method, topic, correlationId, elapsed, acknowledged, inner);
    }

    public static RpcException DeadlineExceeded(string method, string topic, Guid id, TimeSpan elapsed, bool acknowledged) =>
        ForCall(RpcStatus.DeadlineExceeded, "no reply within the deadline", method, topic, id, elapsed, acknowledged);

    public static RpcException Cancelled(string method, string topic, Guid id, TimeSpan elapsed, bool acknowledged, CancellationToken token) =>
        ForCall(RpcStatus.Cancelled, "the caller cancelled the call", method, topic, id, elapsed, acknowledged, new OperationCanceledException(token));

    // server: raised for an RPC server's reply (its reply topics' lookup), not a client's call.
    public static RpcException Disposed(string? method, string? topic, Guid id, TimeSpan elapsed, bool acknowledged, bool server = false) =>
        ForCall(RpcStatus.Unavailable, server ? "the RPC server was disposed" : "the RPC client was disposed", method, topic, id, elapsed, acknowledged,
            new ObjectDisposedException(server ? nameof(RpcServer) : nameof(RpcClient)));

    public static RpcException CircuitOpen(string method, string topic, Guid id, TimeSpan elapsed, Exception inner) =>
        ForCall(RpcStatus.Unavailable, "the circuit breaker of the request topic is open: calls fail at once until it probes the service again", method, topic, id,
            elapsed, false, inner);

    // server: an RPC server's reply topic, not a client's request topic.
    public static RpcException TopicMissing(string method, string topic, TimeSpan elapsed, bool server = false) =>
        ForCall(RpcStatus.Unavailable, server ? "the reply topic does not exist" : "the request topic does not exist", method, topic, Guid.Empty, elapsed, false);

    // server: an RPC server's reply topic, not a client's request topic.
    public static RpcException TopicLookupFailed(string method, string topic, TimeSpan elapsed, Exception inner, bool server = false) =>
        ForCall(RpcStatus.Unavailable, (server ? "the reply topic could not be looked up: " : "the request topic could not be looked up: ") + inner.Message,
            method, topic, Guid.Empty, elapsed, false, inner);

    // server: an RPC server's reply topic, not a client's request topic.
    public static RpcException IllegalTopic(string method, string topic, string problem, TimeSpan elapsed, bool server = false) =>
        ForCall(RpcStatus.InvalidArgument, (server ? "the reply topic" : "the request topic") + " is not a legal Kafka topic name: " + problem,
            method, topic, Guid.Empty, elapsed, false);

    public static RpcException RequestTooLarge(string method, string topic, long size, int limit, TimeSpan elapsed) =>
        ForCall(RpcStatus.ResourceExhausted, string.Create(CultureInfo.InvariantCulture, $"the request payload is {size:N0} bytes, over the limit of {limit:N0} (MaxRequestBytes)"),
            method, topic, Guid.Empty, elapsed, false);

    public static RpcException TooManyPending(string method, string topic, int calls, long bytes, TimeSpan elapsed) =>
        ForCall(RpcStatus.ResourceExhausted,
            string.Create(CultureInfo.InvariantCulture, $"no room for the call before its deadline: {calls:N0} calls with {bytes:N0} request bytes pending (MaxPendingCalls, MaxPendingRequestBytes)"),
            method, topic, Guid.Empty, elapsed, false);

    public static RpcException EncodeFailed(string method, string topic, TimeSpan elapsed, Exception inner) =>
        ForCall(RpcStatus.Internal, "the request could not be encoded: " + inner.Message, method, topic, Guid.Empty, elapsed, false, inner);

    public static RpcException DecodeFailed(string method, string topic, Guid id, TimeSpan elapsed, Exception inner) =>
        ForCall(RpcStatus.Internal, "the reply could not be decoded: " + inner.Message, method, topic, id, elapsed, true, inner);

    public static RpcException ServerError(RpcStatus status, string? message, string method, string topic, Guid id, TimeSpan elapsed) =>
        ForCall(status, message ?? "the server replied " + status, method, topic, id, elapsed, true);

    /// <summary>The request was not written: the producer refused it or the broker did not take it.</summary>
    public static RpcException SendFailed(string? method, string? topic, Guid id, TimeSpan elapsed, Exception inner)
    {
        var status = inner is ProduceException { Kind: ProduceErrorKind.RecordTooLarge or ProduceErrorKind.BufferExhausted }
            ? RpcStatus.ResourceExhausted
            : RpcStatus.Unavailable;
        return ForCall(status, "the request could not be sent: " + inner.Message, method, topic, id, elapsed, false, inner);
    }
}
