using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Messaging.Hosting;

/// <summary>
/// The one registration path of every client type: options named after the service key, bound from configuration
/// then adjusted by code, given the host's logger factory, validated at start; the client a singleton (keyed when a
/// key is given) created from those options on first use and disposed with the container.
/// </summary>
internal static class KafkaClientRegistration
{
    // bind: each call site writes `builder.Bind(section)` with its concrete options type, because the configuration
    // binding source generator (no reflection, AOT-safe) binds only calls whose type it can see.
    public static void Add<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TOptions, TClient>(
        IServiceCollection services,
        string? serviceKey,
        IConfiguration? configuration,
        Action<OptionsBuilder<TOptions>, IConfiguration> bind,
        Action<TOptions>? configure,
        Func<TOptions, TClient> create)
        where TOptions : KafkaClientOptions
        where TClient : class =>
        Add(services, serviceKey, configuration, bind, configure, static (options, loggerFactory) =>
        {
            if (ReferenceEquals(options.LoggerFactory, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance))
            {
                options.LoggerFactory = loggerFactory;
            }
        }, static options => options.Validate(), (_, options) => create(options));

    /// <summary>
    /// The same for any options type: <paramref name="useLogging"/> gives the options the host's logger factory (unless
    /// they have their own), <paramref name="validate"/> checks them, <paramref name="create"/> builds the client from
    /// the provider (for what else it needs) and the options.
    /// </summary>
    public static void Add<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicParameterlessConstructor)] TOptions, TClient>(
        IServiceCollection services,
        string? serviceKey,
        IConfiguration? configuration,
        Action<OptionsBuilder<TOptions>, IConfiguration> bind,
        Action<TOptions>? configure,
        Action<TOptions, ILoggerFactory> useLogging,
        Action<TOptions> validate,
        Func<IServiceProvider, TOptions, TClient> create)
        where TOptions : class
        where TClient : class
    {
        ArgumentNullException.ThrowIfNull(services);
        var name = serviceKey ?? Options.DefaultName;
        var builder = services.AddOptions<TOptions>(name);
        if (configuration is not null)
        {
            bind(builder, configuration);
        }

        if (configure is not null)
        {
            builder.Configure(configure);
        }

        // The host's logging, unless the options were given a logger factory of their own.
        builder.PostConfigure<IServiceProvider>((options, provider) =>
        {
            if (provider.GetService<ILoggerFactory>() is { } loggerFactory)
            {
                useLogging(options, loggerFactory);
            }
        });
        services.AddSingleton<IValidateOptions<TOptions>>(new KafkaOptionsValidator<TOptions>(name, (configuration as IConfigurationSection)?.Path, validate));
        builder.ValidateOnStart();

        if (serviceKey is null)
        {
            services.AddSingleton(provider => create(provider, provider.GetRequiredService<IOptionsMonitor<TOptions>>().Get(name)));
        }
        else
        {
            services.AddKeyedSingleton(serviceKey, (provider, _) => create(provider, provider.GetRequiredService<IOptionsMonitor<TOptions>>().Get(name)));
        }
    }

    /// <summary>Registers <typeparamref name="TService"/> as the same singleton as <typeparamref name="TClient"/>.</summary>
    public static void Alias<TService, TClient>(IServiceCollection services, string? serviceKey)
        where TService : class
        where TClient : class, TService
    {
        if (serviceKey is null)
        {
            services.AddSingleton<TService>(static provider => provider.GetRequiredService<TClient>());
        }
        else
        {
            services.AddKeyedSingleton<TService>(serviceKey, static (provider, key) => provider.GetRequiredKeyedService<TClient>(key));
        }
    }
}
