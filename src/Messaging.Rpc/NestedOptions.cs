using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Messaging.Rpc;

/// <summary>
/// The Kafka client options nested in the RPC client's and server's options: what they inherit from the RPC options
/// (cluster, client id, logging) where they leave it unset, and their validation under their path
/// (<c>Producer.Linger</c>, <c>Pools.BlockSize</c>) so a configuration error names the key to fix.
/// </summary>
internal static class NestedOptions
{
    /// <summary>What the RPC options say about reaching the cluster, for the nested clients to inherit.</summary>
    public readonly record struct Connection(string BootstrapServers, string ClientId, SecurityProtocol SecurityProtocol, SslOptions Ssl, SaslOptions Sasl,
        ILoggerFactory LoggerFactory);

    /// <summary>
    /// Copies of the nested producer, consumer and admin options as the RPC client or server uses them: each inherits
    /// <paramref name="connection"/> where it leaves it unset (<see cref="Inherit"/>). The caller's objects are not changed.
    /// </summary>
    public static (KafkaProducerOptions Producer, KafkaConsumerOptions Consumer, KafkaAdminOptions Admin) Resolve(
        KafkaProducerOptions producer, KafkaConsumerOptions consumer, KafkaAdminOptions admin, in Connection connection) =>
        (Inherit(producer.Clone(), connection), Inherit(consumer.Clone(), connection), Inherit(admin.Clone(), connection));

    /// <summary>
    /// Gives <paramref name="target"/> the RPC options' cluster, client id and logger factory where it leaves them unset,
    /// and their security (protocol, TLS and SASL settings together) when they are secured and it is still plaintext.
    /// Changes <paramref name="target"/> (a copy: see <see cref="Resolve"/>) and returns it.
    /// </summary>
    private static T Inherit<T>(T target, in Connection connection)
        where T : KafkaClientOptions
    {
        if (string.IsNullOrEmpty(target.BootstrapServers))
        {
            target.BootstrapServers = connection.BootstrapServers;
        }

        if (target.ClientId == "messaging")
        {
            target.ClientId = connection.ClientId;
        }

        if (connection.SecurityProtocol != SecurityProtocol.Plaintext && target.SecurityProtocol == SecurityProtocol.Plaintext)
        {
            target.SecurityProtocol = connection.SecurityProtocol;
            target.Ssl = connection.Ssl;
            target.Sasl = connection.Sasl;
        }

        if (ReferenceEquals(target.LoggerFactory, NullLoggerFactory.Instance))
        {
            target.LoggerFactory = connection.LoggerFactory;
        }

        return target;
    }

    /// <summary>Runs a nested validation, naming a failing setting by its path from here (<c>Pools.BlockSize</c>).</summary>
    public static void Validate(string property, Action validate)
    {
        try
        {
            validate();
        }
        catch (ArgumentException e) when (e.ParamName is { Length: > 0 } name && !name.StartsWith(property + ".", StringComparison.Ordinal))
        {
            var message = e.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal);
            throw e is ArgumentOutOfRangeException range
                ? new ArgumentOutOfRangeException(property + "." + name, range.ActualValue, StripActual(message, range.ActualValue))
                : new ArgumentException(message, property + "." + name, e);
        }
    }

    private static string StripActual(string message, object? actual) =>
        actual is null ? message : message.Replace(Environment.NewLine + "Actual value was " + actual + ".", "", StringComparison.Ordinal);
}
