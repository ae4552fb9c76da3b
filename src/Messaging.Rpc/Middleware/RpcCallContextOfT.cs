namespace Messaging.Rpc;

/// <summary>A call with its typed request, which an interceptor may read or replace before calling the next step.</summary>
/// <typeparam name="TRequest">The request's type (<see cref="ReadOnlyMemory{T}"/> of bytes for raw calls).</typeparam>
public sealed class RpcCallContext<TRequest> : RpcCallContext
{
    /// <summary>Creates a call context. Clients create their own; a server creates one per request it handles.</summary>
    /// <param name="side">Client or server.</param>
    /// <param name="topic">The request topic.</param>
    /// <param name="method">The method.</param>
    /// <param name="correlationId">The correlation ID.</param>
    /// <param name="request">The request.</param>
    /// <param name="options">The call's options (server: the request's deadline, headers and key).</param>
    /// <param name="cancellationToken">The call's cancellation.</param>
    public RpcCallContext(RpcCallSide side, string topic, string method, Guid correlationId, TRequest request, RpcCallOptions options,
        CancellationToken cancellationToken)
        : base(side, topic, method, correlationId, options, cancellationToken)
    {
        // An empty topic is not refused here: a client's call to it fails, after the interceptors, with InvalidArgument
        // as a call to any topic name Kafka does not take.
        ArgumentNullException.ThrowIfNull(topic);
        ArgumentException.ThrowIfNullOrEmpty(method);
        Request = request;
    }

    /// <summary>The context of a request a server handles.</summary>
    internal RpcCallContext(RpcServerContext server, TRequest request)
        : base(server) => Request = request;

    /// <summary>The request; an interceptor may replace it before calling the next step.</summary>
    public TRequest Request { get; set; }

    /// <summary>A raw client call's copy of the caller's payload, made before the interceptors (null when not copied).</summary>
    internal byte[]? OwnPayload { get; init; }

    /// <summary>Whether <paramref name="payload"/> lies in <see cref="OwnPayload"/>: the call's own memory, not the caller's nor an interceptor's replacement.</summary>
    internal bool IsOwnPayload(ReadOnlyMemory<byte> payload) =>
        OwnPayload is not null && System.Runtime.InteropServices.MemoryMarshal.TryGetArray(payload, out var segment) && ReferenceEquals(segment.Array, OwnPayload);
}
