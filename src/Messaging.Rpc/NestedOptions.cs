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
    /// <summary>Gives <paramref name="target"/> the RPC options' cluster, client id and logger factory where it leaves them unset.</summary>
    public static void Inherit(KafkaClientOptions target, string bootstrapServers, string clientId, ILoggerFactory? loggerFactory)
    {
        if (string.IsNullOrEmpty(target.BootstrapServers))
        {
            target.BootstrapServers = bootstrapServers;
        }

        if (target.ClientId == "messaging")
        {
            target.ClientId = clientId;
        }

        if (loggerFactory is not null && ReferenceEquals(target.LoggerFactory, NullLoggerFactory.Instance))
        {
            target.LoggerFactory = loggerFactory;
        }
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
