using System.Diagnostics.CodeAnalysis;
using Messaging.Rpc;
using Microsoft.Extensions.DependencyInjection;

namespace Messaging.Hosting;

/// <summary>
/// Maps the methods of a hosted <see cref="RpcServer"/> (<c>AddRpcServer</c>). Every handler runs in a new DI scope per
/// request, disposed once the handler's task completes (also when it throws). Map everything before the host starts.
/// </summary>
public interface IRpcServerBuilder
{
    /// <summary>The service collection the server is registered in.</summary>
    IServiceCollection Services { get; }

    /// <summary>The server's service key (null for the default server).</summary>
    string? ServiceKey { get; }

    /// <summary>
    /// Maps <paramref name="method"/> to <typeparamref name="THandler"/>, resolved from each request's scope (registered
    /// as scoped unless it is already registered).
    /// </summary>
    /// <typeparam name="TRequest">The request's type.</typeparam>
    /// <typeparam name="TResponse">The reply's type.</typeparam>
    /// <typeparam name="THandler">The handler.</typeparam>
    /// <param name="method">The method name callers use.</param>
    /// <returns>This builder, to map more.</returns>
    /// <exception cref="InvalidOperationException">The method is already mapped on this server.</exception>
    IRpcServerBuilder MapHandler<TRequest, TResponse, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] THandler>(string method)
        where THandler : class, IRpcHandler<TRequest, TResponse>;

    /// <summary>Maps <paramref name="method"/> to a typed delegate that gets the request's scoped service provider.</summary>
    /// <typeparam name="TRequest">The request's type.</typeparam>
    /// <typeparam name="TResponse">The reply's type.</typeparam>
    /// <param name="method">The method name callers use.</param>
    /// <param name="handler">The handler: request, context, and the provider of the request's scope.</param>
    /// <returns>This builder, to map more.</returns>
    /// <exception cref="InvalidOperationException">The method is already mapped on this server.</exception>
    IRpcServerBuilder Map<TRequest, TResponse>(string method, Func<TRequest, RpcServerContext, IServiceProvider, ValueTask<TResponse>> handler);

    /// <summary>
    /// Maps <paramref name="method"/> to a raw delegate (bytes in, bytes out; see <see cref="RpcServer.MapRaw"/>) that
    /// gets the request's scoped service provider. The request payload is a pooled slice, valid until the task
    /// completes; the reply payload is copied after the task completes, which is after the scope was disposed — so it
    /// must not be a buffer that a scoped service releases when disposed.
    /// </summary>
    /// <param name="method">The method name callers use.</param>
    /// <param name="handler">The handler: request payload, context, and the provider of the request's scope.</param>
    /// <returns>This builder, to map more.</returns>
    /// <exception cref="InvalidOperationException">The method is already mapped on this server.</exception>
    IRpcServerBuilder MapRaw(string method, Func<ReadOnlyMemory<byte>, RpcServerContext, IServiceProvider, ValueTask<ReadOnlyMemory<byte>>> handler);
}
