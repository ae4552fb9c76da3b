namespace Messaging.Transport;

/// <summary>
/// Opens the byte stream a broker connection runs over. Set one on <see cref="KafkaClientOptions.TransportFactory"/>;
/// the default, <see cref="SocketTransportFactory.Instance"/>, opens a plain TCP socket. A factory that adds something
/// (TLS, byte counting, fault injection) usually opens the default transport first and wraps it.
/// </summary>
/// <remarks>
/// The client runs the Kafka handshake (ApiVersions) over the returned transport itself; the factory only has to
/// deliver a connected stream. It is called concurrently for different brokers, so it must be thread-safe.
/// </remarks>
public interface IKafkaTransportFactory
{
    /// <summary>Opens a transport to the broker <paramref name="context"/> names.</summary>
    /// <param name="context">The broker's address and the socket settings from <see cref="KafkaClientOptions"/>.</param>
    /// <param name="cancellationToken">
    /// Fires when the connection setup timeout (<see cref="KafkaClientOptions.SocketConnectionSetupTimeout"/>) passes or
    /// the client is disposed. On cancellation or failure the factory releases whatever it opened before it throws.
    /// </param>
    /// <returns>A connected transport, owned by the caller from then on.</returns>
    /// <exception cref="System.Net.Sockets.SocketException">The broker could not be reached (also <see cref="IOException"/> or
    /// <see cref="TimeoutException"/>): the client reports a retriable <see cref="KafkaConnectionException"/> and backs off.</exception>
    ValueTask<IKafkaTransport> ConnectAsync(KafkaTransportContext context, CancellationToken cancellationToken);
}
