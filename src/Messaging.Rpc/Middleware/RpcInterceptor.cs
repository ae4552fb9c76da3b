namespace Messaging.Rpc;

/// <summary>
/// Middleware around RPC calls, on either side: it sees the call (<see cref="RpcCallContext{TRequest}"/>), may change
/// its options, headers, cancellation and request, calls <c>continuation</c> (or not: it may answer itself), and sees and may
/// change the outcome — the reply returned or the exception thrown. Override what a side needs; the defaults just
/// call <c>continuation</c>.
/// </summary>
/// <remarks>
/// <para><b>Order.</b> Interceptors run in the order of their list (<see cref="RpcClientOptions.Interceptors"/>; the
/// server's list likewise): the first is the outermost — it sees the call first and the outcome last.</para>
/// <para><b>Client side.</b> Interceptors run once per logical call, outside the resilience layer: retries and hedges
/// of an idempotent call happen inside <c>continuation</c> and reuse the call's correlation ID.</para>
/// <para><b>Server side.</b> The server runs <see cref="InterceptHandlerAsync"/> around each handler
/// (<see cref="RpcServerOptions.Interceptors"/>), inside its decoding of the request and outside its encoding of the
/// reply; an exception out of the chain becomes the reply's status as a handler's would (<see cref="RpcException"/>
/// with its status, anything else <c>Internal</c>). The handler receives the request the chain passes on and the
/// request's <see cref="RpcServerContext"/> (<see cref="RpcCallContext.ServerContext"/>); a server interceptor's changes
/// to <see cref="RpcCallContext.Options"/> or <see cref="RpcCallContext.CancellationToken"/> do not reach it.</para>
/// <para>One instance serves every call concurrently: keep per-call state in <see cref="RpcCallContext.Items"/>.</para>
/// </remarks>
public abstract class RpcInterceptor
{
    /// <summary>Wraps an outgoing call of <see cref="RpcClient"/>.</summary>
    /// <typeparam name="TRequest">The request's type.</typeparam>
    /// <typeparam name="TResponse">The reply's type.</typeparam>
    /// <param name="context">The call; its options, cancellation and request may be changed before <paramref name="continuation"/>.</param>
    /// <param name="continuation">The rest of the chain.</param>
    /// <returns>The reply (the one <paramref name="continuation"/> returned, or another).</returns>
    public virtual ValueTask<TResponse> InterceptCallAsync<TRequest, TResponse>(RpcCallContext<TRequest> context, RpcContinuation<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        return continuation(context);
    }

    /// <summary>Wraps the handling of an incoming request by a server.</summary>
    /// <typeparam name="TRequest">The request's type.</typeparam>
    /// <typeparam name="TResponse">The reply's type.</typeparam>
    /// <param name="context">The request as received.</param>
    /// <param name="continuation">The rest of the chain, ending in the handler.</param>
    /// <returns>The reply.</returns>
    public virtual ValueTask<TResponse> InterceptHandlerAsync<TRequest, TResponse>(RpcCallContext<TRequest> context, RpcContinuation<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        return continuation(context);
    }
}
