namespace Messaging.Security;

/// <summary>
/// One SASL conversation on one connection: the client's first message, then one reply per message of the broker
/// until the mechanism is satisfied. Made by <see cref="ISaslMechanism.CreateExchange"/>.
/// </summary>
/// <remarks>
/// To fail the authentication (the broker's proof is wrong, its message malformed), throw
/// <see cref="System.Security.Authentication.AuthenticationException"/> with a message that says why and holds no
/// secret: the client reports it as a <see cref="KafkaAuthenticationException"/>.
/// </remarks>
public interface ISaslExchange : IDisposable
{
    /// <summary>The client's first message (the SASL initial response).</summary>
    /// <param name="cancellationToken">Fires when the connection setup timeout passes.</param>
    ValueTask<ReadOnlyMemory<byte>> StartAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Reads the broker's reply to the last message sent and returns the next message, or null when the conversation
    /// is complete (for a mechanism that authenticates the broker too, only after checking its proof).
    /// </summary>
    /// <param name="serverMessage">The broker's bytes (may be empty); borrowed for the duration of the call.</param>
    /// <param name="cancellationToken">Fires when the connection setup timeout passes.</param>
    ValueTask<ReadOnlyMemory<byte>?> ContinueAsync(ReadOnlyMemory<byte> serverMessage, CancellationToken cancellationToken);
}
