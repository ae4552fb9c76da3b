using Messaging.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds hosted consumers to a service's health checks.</summary>
public static class KafkaConsumerHandlerHealthChecksBuilderExtensions
{
    /// <summary>
    /// Adds a "group joined" check for the hosted consumer of <typeparamref name="THandler"/> (registered with
    /// <c>AddKafkaConsumerHandler</c>): healthy while it is a group member with an assignment or waiting for one;
    /// degraded while it holds partitions stopped after records that could not be handled; <paramref name="failureStatus"/>
    /// (default unhealthy) when its member failed for good or it is not running. The data says the state, the member id
    /// and how many partitions it has.
    /// </summary>
    /// <typeparam name="THandler">The hosted consumer's handler type.</typeparam>
    /// <param name="builder">The health checks builder.</param>
    /// <param name="name">The check's name. Default "kafka-consumer-" and the handler's type name.</param>
    /// <param name="failureStatus">The status reported on failure. Default unhealthy.</param>
    /// <param name="tags">Tags for filtering checks (for example "live").</param>
    /// <returns>The builder.</returns>
    public static IHealthChecksBuilder AddKafkaConsumerHandler<THandler>(
        this IHealthChecksBuilder builder,
        string? name = null,
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null)
        where THandler : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        var key = KafkaConsumerHandlerServiceCollectionExtensions.RegistrationName(typeof(THandler));
        return builder.Add(new HealthCheckRegistration(
            name ?? "kafka-consumer-" + typeof(THandler).Name,
            provider => new KafkaConsumerHandlerHealthCheck(provider.GetKeyedService<KafkaConsumerHandlerStatus>(key)
                ?? throw new InvalidOperationException(typeof(THandler).Name + " has no hosted consumer: register it with AddKafkaConsumerHandler.")),
            failureStatus,
            tags));
    }
}
