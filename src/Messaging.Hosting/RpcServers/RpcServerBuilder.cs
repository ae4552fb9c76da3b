using System.Diagnostics.CodeAnalysis;
using Messaging.Rpc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Messaging.Hosting;

/// <summary>
/// Collects a hosted server's method mappings at registration and applies them to the server when the container
/// creates it. Each mapping is a delegate made once here; per request it runs the handler in a new scope
/// (<see cref="RpcHandlerScope"/>) and allocates nothing else of its own.
/// </summary>
internal sealed class RpcServerBuilder(IServiceCollection services, string? serviceKey) : IRpcServerBuilder
{
    private readonly List<Action<RpcServer, IServiceScopeFactory>> _mappings = [];
    private readonly HashSet<string> _methods = new(StringComparer.Ordinal);

    public IServiceCollection Services { get; } = services;

    public string? ServiceKey { get; } = serviceKey;

    public IRpcServerBuilder MapHandler<TRequest, TResponse, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] THandler>(string method)
        where THandler : class, IRpcHandler<TRequest, TResponse>
    {
        Map<TRequest, TResponse>(method, static (request, context, provider) => provider.GetRequiredService<THandler>().HandleAsync(request, context));
        Services.TryAddScoped<THandler>();
        return this;
    }

    public IRpcServerBuilder Map<TRequest, TResponse>(string method, Func<TRequest, RpcServerContext, IServiceProvider, ValueTask<TResponse>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        Add(method, (server, scopes) => server.Map<TRequest, TResponse>(method, (request, context) => RpcHandlerScope.RunAsync(scopes, request, context, handler)));
        return this;
    }

    public IRpcServerBuilder MapRaw(string method, Func<ReadOnlyMemory<byte>, RpcServerContext, IServiceProvider, ValueTask<ReadOnlyMemory<byte>>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        Add(method, (server, scopes) => server.MapRaw(method, (request, context) => RpcHandlerScope.RunAsync(scopes, request, context, handler)));
        return this;
    }

    /// <summary>Creates the server from its options and maps every method registered here.</summary>
    public RpcServer Create(IServiceProvider provider, RpcServerOptions options)
    {
        var server = new RpcServer(options);
        var scopes = provider.GetRequiredService<IServiceScopeFactory>();
        foreach (var map in _mappings)
        {
            map(server, scopes);
        }

        return server;
    }

    private void Add(string method, Action<RpcServer, IServiceScopeFactory> map)
    {
        ArgumentException.ThrowIfNullOrEmpty(method);
        if (!_methods.Add(method))
        {
            throw new InvalidOperationException("The RPC method '" + method + "' is already mapped on this server.");
        }

        _mappings.Add(map);
    }
}
