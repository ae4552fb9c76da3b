using System.Globalization;

namespace Messaging.Transport;

/// <summary>What an <see cref="IKafkaTransportFactory"/> is told about the transport to open: which broker, and the socket settings.</summary>
public sealed class KafkaTransportContext
{
    /// <summary>Describes a transport to <paramref name="host"/>:<paramref name="port"/>.</summary>
    /// <param name="host">A host name or IP address.</param>
    /// <param name="port">The TCP port, 1 to 65535.</param>
    public KafkaTransportContext(string host, int port)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        Host = host;
        Port = port;
        BrokerName = host + ":" + port.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>The broker's host name or IP address (the name a TLS transport validates the certificate against).</summary>
    public string Host { get; }

    /// <summary>The broker's TCP port.</summary>
    public int Port { get; }

    /// <summary>The broker's node id from cluster metadata, or -1 for a bootstrap server.</summary>
    public int NodeId { get; init; } = -1;

    /// <summary>How the client's errors and logs name this broker, e.g. <c>broker 1 (host:9092)</c>.</summary>
    public string BrokerName { get; init; }

    /// <summary><c>KafkaClientOptions.SocketSendBufferBytes</c>: the socket send buffer; 0 leaves the operating system's default.</summary>
    public int SocketSendBufferBytes { get; init; }

    /// <summary><c>KafkaClientOptions.SocketReceiveBufferBytes</c>: the socket receive buffer; 0 leaves the operating system's default.</summary>
    public int SocketReceiveBufferBytes { get; init; }
}
