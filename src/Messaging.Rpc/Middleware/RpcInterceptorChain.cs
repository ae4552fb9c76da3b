namespace Messaging.Rpc;

/// <summary>
/// Builds the chain of interceptors around a call's last step, once per request/reply type pair: the chain's
/// delegates capture only the interceptors and the last step, never a call's data (that travels in the context), so
/// one chain serves every call of its types.
/// </summary>
internal static class RpcInterceptorChain
{
    public static RpcContinuation<TRequest, TResponse> Build<TRequest, TResponse>(IReadOnlyList<RpcInterceptor> interceptors, RpcCallSide side,
        RpcContinuation<TRequest, TResponse> last)
    {
        var next = last;
        for (var i = interceptors.Count - 1; i >= 0; i--)
        {
            var interceptor = interceptors[i];
            var inner = next;
            next = side == RpcCallSide.Client
                ? context => interceptor.InterceptCallAsync(context, inner)
                : context => interceptor.InterceptHandlerAsync(context, inner);
        }

        return next;
    }
}
