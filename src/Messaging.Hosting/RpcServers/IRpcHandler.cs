using Messaging.Rpc;

namespace Messaging.Hosting;

/// <summary>
/// Handles the requests of one RPC method of a hosted server (<c>AddRpcServer(...).MapHandler</c>). Resolved from the
/// service provider in a new scope for every request, so scoped services (a database context, a unit of work) are
/// fresh for each request and disposed when it is answered — also when the handler throws.
/// </summary>
/// <typeparam name="TRequest">The request's type, decoded by <see cref="RpcServerOptions.Serializer"/>.</typeparam>
/// <typeparam name="TResponse">The reply's type, encoded likewise.</typeparam>
/// <remarks>
/// Requests run concurrently (up to <see cref="RpcServerOptions.MaxConcurrentRequests"/>, and
/// <see cref="RpcServerOptions.MaxConcurrentRequestsPerMethod"/> of one method). A request's offset is committed once
/// it is answered: after a crash or a rebalance a request may run again, so make the handler idempotent (or turn on
/// <see cref="RpcServerOptions.ReplyCache"/>). Throwing an <see cref="RpcException"/> answers with its status; any other
/// exception answers <see cref="RpcStatus.Internal"/>.
/// </remarks>
public interface IRpcHandler<TRequest, TResponse>
{
    /// <summary>Handles one request.</summary>
    /// <param name="request">The decoded request.</param>
    /// <param name="context">
    /// The request's method, correlation ID, deadline, key and headers; its <see cref="RpcServerContext.CancellationToken"/>
    /// fires at the caller's deadline, or when a stopping host's server stops waiting (<see cref="RpcServerOptions.DrainTimeout"/>).
    /// Valid only until the returned task completes.
    /// </param>
    /// <returns>The reply.</returns>
    ValueTask<TResponse> HandleAsync(TRequest request, RpcServerContext context);
}
