using Messaging;
using Messaging.Hosting;
using Messaging.Pools;
using Microsoft.Extensions.Configuration;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers Messaging's clients in a service collection. Each client is a singleton created on first use from
/// options bound from <see cref="IConfiguration"/> (property names as keys: <c>"BootstrapServers"</c>,
/// <c>"Linger"</c>, ...) and then adjusted by code; the host's <c>ILoggerFactory</c> is used unless the options set
/// one; the options are validated when the host starts, and a wrong value fails the start with a message naming its
/// configuration key. A service key registers a keyed client (several producers or clusters in one service).
/// </summary>
public static class KafkaServiceCollectionExtensions
{
    /// <summary>Registers a <see cref="KafkaProducer"/> (also as <see cref="IKafkaProducer"/>).</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The section to bind <see cref="KafkaProducerOptions"/> from, or null.</param>
    /// <param name="configure">Adjusts the options after binding, or null.</param>
    /// <param name="serviceKey">Registers keyed services under this key (and named options of this name); null for the default.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddKafkaProducer(this IServiceCollection services, IConfiguration? configuration, Action<KafkaProducerOptions>? configure = null, string? serviceKey = null)
    {
        KafkaClientRegistration.Add(services, serviceKey, configuration, static (builder, section) => builder.Bind(section), configure, static options => new KafkaProducer(options));
        KafkaClientRegistration.Alias<IKafkaProducer, KafkaProducer>(services, serviceKey);
        return services;
    }

    /// <summary>Registers a <see cref="KafkaProducer"/> (also as <see cref="IKafkaProducer"/>) configured by code.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddKafkaProducer(this IServiceCollection services, Action<KafkaProducerOptions> configure)
        => services.AddKafkaProducer(null, configure);

    /// <summary>
    /// Registers a raw <see cref="KafkaConsumer"/> (also as <see cref="IKafkaConsumer"/>): one consumer for the
    /// service, read by one loop (a consumer is not meant to be shared between concurrent readers). A
    /// <c>PoolSettings</c> subsection (<see cref="Messaging.Pools.ConsumerPoolOptions"/>:
    /// <c>PoolSettings:DecompressionBuffers:MaxRetainedBytes</c>, ...) gives the consumer its own pools built from
    /// those settings; without one it uses the process-wide shared pools. (Not <c>Pools</c>: that property holds
    /// pool instances, which configuration cannot create.)
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The section to bind <see cref="KafkaConsumerOptions"/> from, or null.</param>
    /// <param name="configure">Adjusts the options after binding, or null.</param>
    /// <param name="serviceKey">Registers keyed services under this key (and named options of this name); null for the default.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddKafkaConsumer(this IServiceCollection services, IConfiguration? configuration, Action<KafkaConsumerOptions>? configure = null, string? serviceKey = null)
    {
        KafkaClientRegistration.Add(services, serviceKey, configuration, static (builder, section) =>
        {
            builder.Bind(section);
            var pools = section.GetSection("PoolSettings");
            if (pools.Exists())
            {
                // The settings of pools the consumer gets for itself (KafkaConsumerOptions.Pools holds instances).
                builder.Configure(options =>
                {
                    var settings = new ConsumerPoolOptions();
                    pools.Bind(settings);
                    options.Pools = ConsumerPools.Create(settings);
                });
            }
        }, configure, static options => new KafkaConsumer(options));
        KafkaClientRegistration.Alias<IKafkaConsumer, KafkaConsumer>(services, serviceKey);
        return services;
    }

    /// <summary>Registers a <see cref="KafkaAdminClient"/>; the Kafka health check uses it.</summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The section to bind <see cref="KafkaAdminOptions"/> from, or null.</param>
    /// <param name="configure">Adjusts the options after binding, or null.</param>
    /// <param name="serviceKey">Registers a keyed service under this key (and named options of this name); null for the default.</param>
    /// <returns>The service collection.</returns>
    public static IServiceCollection AddKafkaAdminClient(this IServiceCollection services, IConfiguration? configuration, Action<KafkaAdminOptions>? configure = null, string? serviceKey = null)
    {
        KafkaClientRegistration.Add(services, serviceKey, configuration, static (builder, section) => builder.Bind(section), configure, static options => new KafkaAdminClient(options));
        return services;
    }
}
