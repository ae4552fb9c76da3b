using Messaging.Transport;
using Microsoft.Extensions.Logging;

namespace Messaging.Connection;

/// <summary>
/// The client options the connection layer reads (implemented by <c>KafkaClientOptions</c>, which lives a layer up,
/// in Cluster): connections depend on this shape, not on the options class, so the layer rule holds.
/// </summary>
internal interface IConnectionOptions
{
    string ClientId { get; }

    TimeSpan RequestTimeout { get; }

    TimeSpan SocketConnectionSetupTimeout { get; }

    int MaxInFlightRequestsPerConnection { get; }

    int SocketSendBufferBytes { get; }

    int SocketReceiveBufferBytes { get; }

    int MaxResponseBytes { get; }

    TimeSpan ReconnectBackoff { get; }

    TimeSpan ReconnectBackoffMax { get; }

    TimeSpan ConnectionsMaxIdle { get; }

    IKafkaTransportFactory TransportFactory { get; }

    ILoggerFactory LoggerFactory { get; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    void Validate();
}
