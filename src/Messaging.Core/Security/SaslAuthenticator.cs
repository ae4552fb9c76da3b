using System.Security.Authentication;
using Messaging.Connection;
using Messaging.Errors;
using Messaging.Protocol.Messages;

namespace Messaging.Security;

/// <summary>
/// SASL on a connection (KIP-152): SaslHandshake names the mechanism, then every message of the mechanism's
/// exchange travels in a SaslAuthenticate request, until the mechanism is done. Runs after ApiVersions on a new
/// connection, and again on the open connection before the session the broker granted ends (KIP-368).
/// </summary>
/// <remarks>
/// <para>Errors: a mechanism the broker does not enable, a refused credential, and a broker whose answers do not
/// satisfy the mechanism (a wrong SCRAM server signature) are <see cref="KafkaAuthenticationException"/>s — not
/// retriable, never holding a credential. A connection that breaks meanwhile is the usual retriable error.</para>
/// <para>The exchange runs inside the connection's exclusive window (<see cref="BrokerConnection.EnterExclusiveAsync"/>):
/// nothing else is written between its requests, which is what the broker requires once a connection is in use. The
/// mechanism's first message is made before the window opens, so a slow credential source (an OAUTHBEARER token
/// provider) never holds the connection's other requests back.</para>
/// <para>Session lifetime (KIP-368): when the broker answers with one, <see cref="SaslSessionRenewal"/> authenticates
/// again in band before it ends.</para>
/// </remarks>
internal sealed class SaslAuthenticator(ISaslMechanism mechanism, TimeProvider time) : IConnectionAuthenticator
{
    private const long MaxLifetimeMs = long.MaxValue / TimeSpan.TicksPerMillisecond;

    public ISaslMechanism Mechanism => mechanism;

    public async ValueTask AuthenticateAsync(BrokerConnection connection, CancellationToken cancellationToken)
    {
        var lifetime = await ExchangeAsync(connection, closeOnFailure: false, cancellationToken).ConfigureAwait(false);
        if (lifetime > TimeSpan.Zero)
        {
            SaslSessionRenewal.Start(this, connection, lifetime, time);
        }
    }

    /// <summary>
    /// Runs the whole exchange on <paramref name="connection"/> inside its exclusive window and returns the session
    /// lifetime the broker set (zero for none).
    /// </summary>
    /// <param name="connection">The connection, new or in use.</param>
    /// <param name="closeOnFailure">
    /// True on a connection in use: a failed exchange leaves its SASL state undefined, so it is closed before the window
    /// lets other requests through (they fail retriably and go out again on a new connection).
    /// </param>
    /// <param name="cancellationToken">Ends the wait (setup timeout, or the connection closing).</param>
    public async ValueTask<TimeSpan> ExchangeAsync(BrokerConnection connection, bool closeOnFailure, CancellationToken cancellationToken)
    {
        var name = mechanism.Name;
        var broker = connection.Name;
        using var exchange = mechanism.CreateExchange(new SaslExchangeContext(connection.Endpoint.Host, connection.Endpoint.Port, broker));
        ReadOnlyMemory<byte>? next;
        try
        {
            next = await exchange.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (AuthenticationException ex)
        {
            throw KafkaExceptions.SaslProtocolViolation(broker, name, ex.Message, ex);
        }

        await connection.EnterExclusiveAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await HandshakeAsync(connection, name, cancellationToken).ConfigureAwait(false);
            long sessionLifetimeMs = 0;
            while (next is { } message)
            {
                SaslAuthenticateResponse response;
                ResponseFrame frame;
                try
                {
                    (response, frame) = await connection.SendExclusiveAsync<SaslAuthenticateRequest, SaslAuthenticateResponse>(new SaslAuthenticateRequest { AuthBytes = message }, cancellationToken).ConfigureAwait(false);
                }
                catch (UnsupportedApiVersionException ex)
                {
                    throw KafkaExceptions.SaslNotSupported(broker, name, ex);
                }

                // The broker's token is a slice of the frame: it goes back to its pool only after the mechanism read it.
                using (frame)
                {
                    if (response.ErrorCode != ErrorCode.None)
                    {
                        throw KafkaExceptions.SaslFailed(broker, name, response.ErrorCode, response.ErrorMessage);
                    }

                    sessionLifetimeMs = response.SessionLifetimeMs;
                    try
                    {
                        next = await exchange.ContinueAsync(response.AuthBytes, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException and not KafkaException)
                    {
                        throw KafkaExceptions.SaslProtocolViolation(broker, name, ex.Message, ex);
                    }
                }
            }

            // A broker may grant more than a TimeSpan holds (connections.max.reauth.ms set to Long.MAX_VALUE): that is
            // "as long as can be", not an error that would fail every connect.
            return sessionLifetimeMs >= MaxLifetimeMs ? TimeSpan.MaxValue : TimeSpan.FromMilliseconds(sessionLifetimeMs);
        }
        catch (Exception ex) when (closeOnFailure)
        {
            connection.CloseBecause(ex);
            throw;
        }
        finally
        {
            connection.ExitExclusive();
        }
    }

    private static async ValueTask HandshakeAsync(BrokerConnection connection, string name, CancellationToken cancellationToken)
    {
        SaslHandshakeResponse handshake;
        try
        {
            ResponseFrame frame;
            (handshake, frame) = await connection.SendExclusiveAsync<SaslHandshakeRequest, SaslHandshakeResponse>(new SaslHandshakeRequest { Mechanism = name }, cancellationToken).ConfigureAwait(false);
            frame.Dispose(); // the response holds strings only
        }
        catch (UnsupportedApiVersionException ex)
        {
            throw KafkaExceptions.SaslNotSupported(connection.Name, name, ex);
        }

        if (handshake.ErrorCode == ErrorCode.UnsupportedSaslMechanism)
        {
            throw KafkaExceptions.SaslMechanismNotEnabled(connection.Name, name, handshake.Mechanisms);
        }

        if (handshake.ErrorCode != ErrorCode.None)
        {
            throw KafkaExceptions.SaslFailed(connection.Name, name, handshake.ErrorCode, null);
        }
    }
}
