namespace Messaging.Rpc;

/// <summary>
/// What runs around a server's handlers: its interceptors (<see cref="RpcServerOptions.Interceptors"/>) and whether
/// the request's <see cref="RpcCallContext"/> is made current while the handler runs
/// (<see cref="RpcServerOptions.PropagateCallContext"/>). With neither, handlers are called directly and a request
/// costs no call context.
/// </summary>
internal sealed class HandlerPipeline
{
    private readonly RpcInterceptor[] _interceptors;
    private readonly bool _enterCallContext;

    public HandlerPipeline(RpcInterceptor[] interceptors, bool enterCallContext)
    {
        _interceptors = interceptors;
        _enterCallContext = enterCallContext;
    }

    /// <summary>The chain ending in <paramref name="handler"/>, built once per method; null when handlers are called directly.</summary>
    public RpcContinuation<TRequest, TResponse>? Build<TRequest, TResponse>(RpcContinuation<TRequest, TResponse> handler) =>
        _interceptors.Length == 0 && !_enterCallContext ? null : RpcInterceptorChain.Build(_interceptors, RpcCallSide.Server, handler);

    /// <summary>Runs one request through <paramref name="chain"/> (from <see cref="Build"/>).</summary>
    public ValueTask<TResponse> RunAsync<TRequest, TResponse>(RpcContinuation<TRequest, TResponse> chain, TRequest request, RpcServerContext context)
    {
        var call = new RpcCallContext<TRequest>(context, request);
        return _enterCallContext ? RunEnteredAsync(chain, call) : chain(call);
    }

    private static async ValueTask<TResponse> RunEnteredAsync<TRequest, TResponse>(RpcContinuation<TRequest, TResponse> chain, RpcCallContext<TRequest> call)
    {
        // Set on this async method's own execution context: the caller's flow never sees it, and the scope restores
        // the previous call for the rest of this method.
        using var scope = RpcCallContext.Enter(call);
        return await chain(call).ConfigureAwait(false);
    }
}
