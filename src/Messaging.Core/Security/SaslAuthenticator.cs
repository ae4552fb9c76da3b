using System.Security.Authentication;
using Messaging.Connection;
using Messaging.Errors;
using Messaging.Protocol.Messages;

namespace Messaging.Security;

/// <summary>
/// SASL on a new connection (KIP-152): SaslHandshake names the mechanism, then every message of the mechanism's
/// exchange travels in a SaslAuthenticate request, until the mechanism is done. Runs after ApiVersions, with nothing
/// else in flight.
/// </summary>
/// <remarks>
/// <para>Errors: a mechanism the broker does not enable, a refused credential, and a broker whose answers do not
/// satisfy the mechanism (a wrong SCRAM server signature) are <see cref="KafkaAuthenticationException"/>s — not
/// retriable, never holding a credential. A connection that breaks meanwhile is the usual retriable error.</para>
/// <para>Session lifetime (KIP-368): when the broker answers with a session lifetime, it closes the connection once
/// the session ends. The client gets ahead of it: at 85–95% of the lifetime (spread so connections do not all renew at
/// once) it closes the connection itself, and the next request reconnects and authenticates again with fresh
/// credentials (for OAUTHBEARER, a refreshed token).</para>
/// </remarks>
internal sealed class SaslAuthenticator(ISaslMechanism mechanism, TimeProvider time) : IConnectionAuthenticator
{
    public ISaslMechanism Mechanism => mechanism;

    public async ValueTask AuthenticateAsync(BrokerConnection connection, CancellationToken cancellationToken)
    {
        var name = mechanism.Name;
        var broker = connection.Name;
        SaslHandshakeResponse handshake;
        try
        {
            handshake = await connection.SendAsync<SaslHandshakeRequest, SaslHandshakeResponse>(new SaslHandshakeRequest { Mechanism = name }, cancellationToken).ConfigureAwait(false);
        }
        catch (UnsupportedApiVersionException ex)
        {
            throw KafkaExceptions.SaslNotSupported(broker, name, ex);
        }

        if (handshake.ErrorCode == ErrorCode.UnsupportedSaslMechanism)
        {
            throw KafkaExceptions.SaslMechanismNotEnabled(broker, name, handshake.Mechanisms);
        }

        if (handshake.ErrorCode != ErrorCode.None)
        {
            throw KafkaExceptions.SaslFailed(broker, name, handshake.ErrorCode, null);
        }

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

        long sessionLifetimeMs = 0;
        while (next is { } message)
        {
            SaslAuthenticateResponse response;
            try
            {
                response = await connection.SendAsync<SaslAuthenticateRequest, SaslAuthenticateResponse>(new SaslAuthenticateRequest { AuthBytes = message }, cancellationToken).ConfigureAwait(false);
            }
            catch (UnsupportedApiVersionException ex)
            {
                throw KafkaExceptions.SaslNotSupported(broker, name, ex);
            }

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

        if (sessionLifetimeMs > 0)
        {
            RenewBeforeSessionEnds(connection, TimeSpan.FromMilliseconds(sessionLifetimeMs));
        }
    }

    /// <summary>Closes <paramref name="connection"/> at 85–95% of the session lifetime; the timer goes when the connection closes.</summary>
    private void RenewBeforeSessionEnds(BrokerConnection connection, TimeSpan lifetime)
    {
        var due = lifetime * (0.85 + (Random.Shared.NextDouble() * 0.10));
        var timer = time.CreateTimer(
            static state => ((BrokerConnection)state!).Close("the SASL session lifetime the broker set is ending; reconnecting authenticates again"),
            connection, due, Timeout.InfiniteTimeSpan);
        _ = connection.Closed.ContinueWith(static (_, state) => ((ITimer)state!).Dispose(), timer, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }
}
