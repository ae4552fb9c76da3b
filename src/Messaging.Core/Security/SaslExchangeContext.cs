namespace Messaging.Security;

/// <summary>What an <see cref="ISaslExchange"/> is told about its connection.</summary>
public sealed class SaslExchangeContext
{
    /// <summary>Describes a connection to <paramref name="host"/>:<paramref name="port"/>.</summary>
    /// <param name="host">The broker's host name, as the client connects to it (some mechanisms sign it).</param>
    /// <param name="port">The broker's port.</param>
    /// <param name="brokerName">How the client's errors and logs name the broker.</param>
    public SaslExchangeContext(string host, int port, string brokerName)
    {
        Host = host;
        Port = port;
        BrokerName = brokerName;
    }

    /// <summary>The broker's host name, as the client connects to it.</summary>
    public string Host { get; }

    /// <summary>The broker's port.</summary>
    public int Port { get; }

    /// <summary>How the client's errors and logs name the broker, e.g. <c>broker 1 (host:9092)</c>.</summary>
    public string BrokerName { get; }
}
