using Messaging.Rpc;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Messaging.Hosting;

/// <summary>
/// What hosting does to a server's options before the server gets them, and how their errors name a configuration key.
/// </summary>
/// <remarks>
/// <c>RpcServerOptions.Validate</c> is internal and runs in the server's constructor; unlike
/// <c>RpcClientOptions.Validate</c> it neither names nested settings by their path (a pool error says
/// <c>BlockSize</c>, not <c>Pools.BlockSize</c>) nor checks the nested <see cref="RpcServerOptions.Producer"/> and
/// <see cref="RpcServerOptions.Consumer"/> (their clients do, naming <c>Linger</c> rather than <c>Producer.Linger</c>).
/// So at start the options validator checks the nested clients here, by path, and the hosted service reports the
/// constructor's own error through <see cref="Describe"/>, which puts the pool and reply-cache settings under their
/// section. Once the options have a public validation that names paths, both become that one call.
/// </remarks>
internal static class RpcServerSettings
{
    private static readonly string DefaultClientId = new KafkaClientOptions().ClientId;

    private static readonly string[] PoolSettings =
    [
        nameof(RpcPoolOptions.BlockSize), nameof(RpcPoolOptions.LargeBufferMultiple), nameof(RpcPoolOptions.MaximumBufferSize),
        nameof(RpcPoolOptions.MaximumSmallPoolFreeBytes), nameof(RpcPoolOptions.MaximumLargePoolFreeBytes),
    ];

    private static readonly string[] ReplyCacheSettings =
        [nameof(RpcReplyCacheOptions.MaxEntries), nameof(RpcReplyCacheOptions.MaxBytes), nameof(RpcReplyCacheOptions.MaxAge)];

    /// <summary>
    /// Gives the nested clients the server's connection, as the server does when built (<c>BootstrapServers</c> where
    /// they have none, <c>ClientId</c> where they keep the default), so they can be checked at start.
    /// </summary>
    public static void ApplyConnection(RpcServerOptions options)
    {
        foreach (var client in (ReadOnlySpan<KafkaClientOptions?>)[options.Producer, options.Consumer])
        {
            if (client is null)
            {
                continue; // reported by the validation
            }

            if (string.IsNullOrEmpty(client.BootstrapServers))
            {
                client.BootstrapServers = options.BootstrapServers;
            }

            if (client.ClientId == DefaultClientId)
            {
                client.ClientId = options.ClientId;
            }
        }
    }

    /// <summary>Gives the nested clients the host's logging where they have none (the server itself does not log).</summary>
    public static void UseLogging(RpcServerOptions options, ILoggerFactory loggerFactory)
    {
        foreach (var client in (ReadOnlySpan<KafkaClientOptions?>)[options.Producer, options.Consumer])
        {
            if (client is not null && ReferenceEquals(client.LoggerFactory, NullLoggerFactory.Instance))
            {
                client.LoggerFactory = loggerFactory;
            }
        }
    }

    /// <summary>Checks the nested client settings; an error names the setting by its path (<c>Producer.Linger</c>).</summary>
    /// <exception cref="ArgumentException">A setting is invalid.</exception>
    public static void ValidateClients(RpcServerOptions options)
    {
        Nested(nameof(RpcServerOptions.Producer), options.Producer);
        Nested(nameof(RpcServerOptions.Consumer), options.Consumer);
    }

    /// <summary>The message of an error the server's constructor raised, naming the configuration key.</summary>
    public static string Describe(ArgumentException error, string? sectionPath)
    {
        var setting = error.ParamName;
        if (setting is not null && Array.IndexOf(PoolSettings, setting) >= 0)
        {
            setting = nameof(RpcServerOptions.Pools) + "." + setting;
        }
        else if (setting is not null && Array.IndexOf(ReplyCacheSettings, setting) >= 0)
        {
            setting = nameof(RpcServerOptions.ReplyCache) + "." + setting;
        }

        return KafkaOptionsValidator<RpcServerOptions>.Describe(error, sectionPath, setting);
    }

    private static void Nested(string property, KafkaClientOptions? client)
    {
        ArgumentNullException.ThrowIfNull(client, property);
        try
        {
            client.Validate();
        }
        catch (ArgumentException e) when (e.ParamName is { Length: > 0 } name)
        {
            throw new ArgumentException(e.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal), property + "." + name, e);
        }
    }
}
