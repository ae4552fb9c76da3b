using System.Diagnostics.CodeAnalysis;
using Messaging;
using Messaging.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers hosted consumers: a background service per handler type that reads its topics as a consumer group member.</summary>
public static class KafkaConsumerHandlerServiceCollectionExtensions
{
    /// <summary>
    /// Registers a hosted consumer that subscribes to <see cref="KafkaConsumerHandlerOptions.Topics"/> and hands every
    /// record to <typeparamref name="THandler"/> (scoped, resolved in a new scope per attempt): records of a partition
    /// in order, partitions in parallel up to <see cref="KafkaConsumerHandlerOptions.MaxConcurrency"/>; offsets
    /// committed only after handling; failing records retried, then dead-lettered or their partition stopped; on host
    /// stop the handlers in flight finish (within <see cref="KafkaConsumerHandlerOptions.DrainTimeout"/>), their offsets
    /// are committed and the member leaves. Settings come from <paramref name="configuration"/> (handler settings) and
    /// its <c>Consumer</c> subsection (<see cref="KafkaConsumerOptions"/>; <c>GroupId</c> is required), are validated
    /// when the host starts, and the consumer always runs with <c>EnableAutoOffsetStore = false</c> and automatic
    /// commits (<c>AutoCommitInterval</c> sets how often handled offsets are committed).
    /// </summary>
    /// <typeparam name="THandler">The handler; registered as scoped unless already registered.</typeparam>
    /// <typeparam name="TKey">The key type: a registered <c>IDeserializer&lt;TKey&gt;</c>, or byte[], string, int, long, double or Ignore.</typeparam>
    /// <typeparam name="TValue">The value type, likewise.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The section to bind from, or null.</param>
    /// <param name="configure">Adjusts the handler settings after binding, or null.</param>
    /// <param name="configureConsumer">Adjusts the consumer settings after binding, or null.</param>
    /// <returns>The service collection.</returns>
    /// <exception cref="InvalidOperationException"><typeparamref name="THandler"/> already has a hosted consumer.</exception>
    public static IServiceCollection AddKafkaConsumerHandler<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] THandler, TKey, TValue>(
        this IServiceCollection services,
        IConfiguration? configuration,
        Action<KafkaConsumerHandlerOptions>? configure = null,
        Action<KafkaConsumerOptions>? configureConsumer = null)
        where THandler : class, IKafkaRecordHandler<TKey, TValue>
    {
        ArgumentNullException.ThrowIfNull(services);
        var name = RegistrationName(typeof(THandler));
        foreach (var descriptor in services)
        {
            if (descriptor.IsKeyedService && descriptor.ServiceType == typeof(KafkaConsumerHandlerStatus) && Equals(descriptor.ServiceKey, name))
            {
                throw new InvalidOperationException(typeof(THandler).Name + " already has a hosted consumer: register one handler type per group and topics.");
            }
        }

        var sectionPath = (configuration as IConfigurationSection)?.Path;
        var consumerSection = configuration?.GetSection("Consumer");
        services.AddKafkaConsumer(consumerSection, configureConsumer, serviceKey: name);
        services.PostConfigure<KafkaConsumerOptions>(name, static options =>
        {
            // Offsets are stored by the hosted consumer after each record is handled, and committed by the timer.
            options.EnableAutoOffsetStore = false;
            options.EnableAutoCommit = true;
        });
        // The client allows no group (manual assignment); a hosted consumer needs one.
        services.AddSingleton<IValidateOptions<KafkaConsumerOptions>>(new KafkaOptionsValidator<KafkaConsumerOptions>(name, consumerSection?.Path,
            RequireGroup));

        var builder = services.AddOptions<KafkaConsumerHandlerOptions>(name);
        if (configuration is not null)
        {
            builder.Bind(configuration);
        }

        if (configure is not null)
        {
            builder.Configure(configure);
        }

        services.AddSingleton<IValidateOptions<KafkaConsumerHandlerOptions>>(provider =>
            new KafkaConsumerHandlerValidator<TKey, TValue>(name, sectionPath, provider.GetRequiredService<IServiceProviderIsService>()));
        builder.ValidateOnStart();

        services.TryAddScoped<THandler>();
        services.AddKeyedSingleton(name, new KafkaConsumerHandlerStatus(typeof(THandler).Name));
        services.AddHostedService(provider => new KafkaConsumerHandlerService<THandler, TKey, TValue>(provider, name));
        return services;
    }

    /// <summary>The name of a handler type's registration: its options' name and its consumer's service key.</summary>
    internal static string RegistrationName(Type handler) => "Messaging.Hosting.ConsumerHandler:" + handler.FullName;

    private static void RequireGroup(KafkaConsumerOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.GroupId))
        {
#pragma warning disable CA2208 // The parameter name is the setting's: the validator turns it into the configuration key.
            throw new ArgumentException("a hosted consumer needs a consumer group id", nameof(KafkaConsumerOptions.GroupId));
#pragma warning restore CA2208
        }
    }
}
