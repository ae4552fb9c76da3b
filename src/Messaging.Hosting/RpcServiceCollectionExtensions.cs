using Messaging.Hosting;
using Messaging.Rpc;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Messaging's RPC clients in a service collection.</summary>
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
            static options => new RpcClient(options));
        return services;
    }

    /// <summary>Registers an <see cref="RpcClient"/> configured by code.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddRpcClient(this IServiceCollection services, Action<RpcClientOptions> configure) =>
        services.AddRpcClient(null, configure);
}
