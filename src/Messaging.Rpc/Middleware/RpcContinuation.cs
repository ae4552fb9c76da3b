namespace Messaging.Rpc;

/// <summary>The next step of a call: the next interceptor, or finally the call itself (client) or the handler (server).</summary>
/// <typeparam name="TRequest">The request's type.</typeparam>
/// <typeparam name="TResponse">The reply's type.</typeparam>
/// <param name="context">The call.</param>
/// <returns>The reply.</returns>
public delegate ValueTask<TResponse> RpcContinuation<TRequest, TResponse>(RpcCallContext<TRequest> context);
