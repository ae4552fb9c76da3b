using Messaging.Rpc;
using Microsoft.Extensions.DependencyInjection;

namespace Messaging.Hosting;

/// <summary>Runs one request's handler in a DI scope of its own, disposed when the handler is done (also when it throws).</summary>
internal static class RpcHandlerScope
{
    public static async ValueTask<TResponse> RunAsync<TRequest, TResponse>(IServiceScopeFactory scopes, TRequest request, RpcServerContext context,
        Func<TRequest, RpcServerContext, IServiceProvider, ValueTask<TResponse>> handler)
    {
        var scope = scopes.CreateAsyncScope();
        await using (scope.ConfigureAwait(false))
        {
            return await handler(request, context, scope.ServiceProvider).ConfigureAwait(false);
        }
    }
}
