using Messaging.Hosting;
using Messaging.Rpc;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Messaging's RPC clients and servers in a service collection.</summary>
public static class RpcServiceCollectionExtensions
{
    /// <summary>
    /// Registers an <see cref="RpcClient"/>: one singleton for the service, created on first use from
    /// <see cref="RpcClientOptions"/> bound from <paramref name="configuration"/> (<c>BootstrapServers</c>,
    /// <c>ReplyTopic</c>, <c>DefaultTimeout</c>, the payload pools under <c>Pools</c>, retries, circuit breaker and
    /// hedging under <c>Resilience</c>, the nested <c>Producer</c>, <c>Consumer</c> and <c>Admin</c> settings, ...) and
    /// then adjusted by code (interceptors, a serializer, a clock are objects only code can set). It logs through the
    /// host's <c>ILoggerFactory</c> unless the options set one; the options are validated when the host starts, and a
    /// wrong value fails the start with a message naming its configuration key (<c>Rpc:Pools:BlockSize</c>). The
    /// container disposes the client (pending calls fail with <see cref="RpcStatus.Unavailable"/>).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The section to bind <see cref="RpcClientOptions"/> from, or null.</param>
    /// <param name="configure">Adjusts the options after binding, or null.</param>
    /// <param name="serviceKey">Registers a keyed client under this key (and named options of this name); null for the default.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddRpcClient(this IServiceCollection services, IConfiguration? configuration, Action<RpcClientOptions>? configure = null,
        string? serviceKey = null)
    {
        KafkaClientRegistration.Add(services, serviceKey, configuration, static (builder, section) => builder.Bind(section), configure,
            static (options, loggerFactory) =>
            {
                if (ReferenceEquals(options.LoggerFactory, NullLoggerFactory.Instance))
                {
                    options.LoggerFactory = loggerFactory;
                }
            },
            static options => options.Validate(),
            static (_, options) => new RpcClient(options));
        return services;
    }

    /// <summary>Registers an <see cref="RpcClient"/> configured by code.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddRpcClient(this IServiceCollection services, Action<RpcClientOptions> configure) =>
        services.AddRpcClient(null, configure);

    /// <summary>
    /// Registers an <see cref="RpcServer"/> run by the host: options bound from <paramref name="configuration"/>
    /// (<c>BootstrapServers</c>, <c>RequestTopics</c>, <c>GroupId</c>, <c>MaxConcurrentRequests</c>,
    /// <c>DrainTimeout</c>, the payload pools under <c>Pools</c>, <c>ReplyCache</c>, the nested <c>Producer</c> and
    /// <c>Consumer</c> settings, ...) then adjusted by code (a serializer, a clock); the methods mapped on the returned
    /// builder, each handler resolved in a new DI scope per request. The host's start validates the options and fails
    /// with a message naming the key and the allowed range (<c>RpcServer:MaxConcurrentRequests</c>), or with the
    /// server's <see cref="InvalidOperationException"/> when no method is mapped; then the server joins its group.
    /// The host's stop disposes it gracefully: no more requests are taken, running handlers finish and their replies
    /// go out within <see cref="RpcServerOptions.DrainTimeout"/> (keep it under the host's shutdown timeout), what was
    /// answered is committed and the member leaves the group. The nested producer and consumer log through the host's
    /// <c>ILoggerFactory</c> unless they have one of their own. The server is also a (keyed) singleton, for its
    /// <see cref="RpcServer.Statistics"/>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The section to bind <see cref="RpcServerOptions"/> from, or null.</param>
    /// <param name="configure">Adjusts the options after binding, or null.</param>
    /// <param name="serviceKey">
    /// Registers a keyed server under this key (and named options of this name), for several servers in one host; null
    /// for the default.
    /// </param>
    /// <returns>The builder to map the server's methods with.</returns>
    /// <exception cref="InvalidOperationException">A server with this key is already registered.</exception>
    public static IRpcServerBuilder AddRpcServer(this IServiceCollection services, IConfiguration? configuration, Action<RpcServerOptions>? configure = null,
        string? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        foreach (var descriptor in services)
        {
            if (descriptor.ServiceType == typeof(RpcServer) && Equals(descriptor.ServiceKey, serviceKey))
            {
                throw new InvalidOperationException(serviceKey is null
                    ? "An RPC server is already registered: give further servers a service key."
                    : "An RPC server with the key '" + serviceKey + "' is already registered.");
            }
        }

        var builder = new RpcServerBuilder(services, serviceKey);
        KafkaClientRegistration.Add(services, serviceKey, configuration, static (optionsBuilder, section) => optionsBuilder.Bind(section), configure,
            static (options, loggerFactory) =>
            {
                if (ReferenceEquals(options.LoggerFactory, NullLoggerFactory.Instance))
                {
                    options.LoggerFactory = loggerFactory;
                }
            },
            static options => options.Validate(),
            builder.Create);
        var sectionPath = (configuration as IConfigurationSection)?.Path;
        // Not AddHostedService: it adds one service per implementation type, and each server needs its own.
        services.AddSingleton<IHostedService>(provider => new RpcServerHostedService(provider, serviceKey, sectionPath));
        return builder;
    }

    /// <summary>Registers an <see cref="RpcServer"/> run by the host, configured by code (see the other overload).</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The builder to map the server's methods with.</returns>
    public static IRpcServerBuilder AddRpcServer(this IServiceCollection services, Action<RpcServerOptions> configure) =>
        services.AddRpcServer(null, configure);
}
