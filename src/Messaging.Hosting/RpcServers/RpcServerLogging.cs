using Messaging.Rpc;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Messaging.Hosting;

/// <summary>Gives a hosted server's nested producer and consumer the host's logging where they have none (the server itself does not log).</summary>
internal static class RpcServerLogging
{
    public static void Apply(RpcServerOptions options, ILoggerFactory loggerFactory)
    {
        foreach (var client in (ReadOnlySpan<KafkaClientOptions?>)[options.Producer, options.Consumer])
        {
            if (client is not null && ReferenceEquals(client.LoggerFactory, NullLoggerFactory.Instance))
            {
                client.LoggerFactory = loggerFactory;
            }
        }
    }
}
