namespace Messaging.Connection;

/// <summary>
/// Authenticates a new connection (SASL): the step a connection runs after the ApiVersions handshake and before it
/// is handed to any caller.
/// </summary>
/// <remarks>
/// Since SaslHandshake v1 every SASL token travels inside a SaslAuthenticate request, so an authenticator is a short
/// conversation over <see cref="BrokerConnection.SendAsync{TRequest, TResponse}(TRequest, CancellationToken)"/> — no
/// access to the transport, no change to the read and write loops. Nothing else is in flight while it runs. An
/// exception fails the connection attempt (the connection is disposed); the cancellation token fires when the
/// connection setup timeout passes.
/// </remarks>
internal interface IConnectionAuthenticator
{
    /// <summary>Authenticates <paramref name="connection"/>, whose negotiated <see cref="BrokerConnection.ApiVersions"/> are known.</summary>
    ValueTask AuthenticateAsync(BrokerConnection connection, CancellationToken cancellationToken);
}
