namespace Messaging.Rpc;

/// <summary>
/// A call that did not succeed: <see cref="Status"/> says how, and — for calls made by <see cref="RpcClient"/> — the
/// method, request topic, correlation ID, time elapsed and whether the broker had acknowledged the request say
/// where. A server handler throws it to reply with a status of its choice.
/// </summary>
public sealed class RpcException : KafkaException
{
    /// <summary>Creates the exception a server handler throws to answer with <paramref name="status"/> and <paramref name="message"/>.</summary>
    /// <param name="status">The status (not <see cref="RpcStatus.Ok"/>).</param>
    /// <param name="message">What went wrong; it travels to the caller.</param>
    /// <param name="innerException">The cause, or null.</param>
    public RpcException(RpcStatus status, string message, Exception? innerException = null)
        : base(message, IsRetriableStatus(status), innerException)
    {
        Status = status;
        Detail = message;
    }

    internal RpcException(RpcStatus status, string message, string detail, string? method, string? topic, Guid correlationId, TimeSpan elapsed,
        bool requestAcknowledged, Exception? innerException)
        : base(message, IsRetriableStatus(status), innerException)
    {
        Status = status;
        Detail = detail;
        Method = method;
        Topic = topic;
        CorrelationId = correlationId;
        Elapsed = elapsed;
        RequestAcknowledged = requestAcknowledged;
    }

    /// <summary>The status.</summary>
    public RpcStatus Status { get; }

    /// <summary>What went wrong, without the call's context: the server's error message for a status it replied with.</summary>
    public string Detail { get; }

    /// <summary>The method called, when the client raised this.</summary>
    public string? Method { get; }

    /// <summary>The request topic, when the client raised this.</summary>
    public string? Topic { get; }

    /// <summary>The call's correlation ID (<see cref="Guid.Empty"/> before one was assigned, or when a server handler raised this).</summary>
    public Guid CorrelationId { get; }

    /// <summary>How long the call had run when it failed.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>
    /// True when the broker had acknowledged the request record before the call failed: the server may have received
    /// it (and may still run it). False when it was never written, or its acknowledgement had not arrived.
    /// </summary>
    public bool RequestAcknowledged { get; }

    private static bool IsRetriableStatus(RpcStatus status) =>
        status is RpcStatus.Unavailable or RpcStatus.ResourceExhausted or RpcStatus.Aborted or RpcStatus.DeadlineExceeded;
}
