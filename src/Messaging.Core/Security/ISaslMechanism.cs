namespace Messaging.Security;

/// <summary>
/// A SASL mechanism the client can authenticate with. The built-in ones (PLAIN, SCRAM-SHA-256/512, OAUTHBEARER) are
/// chosen with <see cref="SaslOptions.Mechanism"/>; implement this for others (a cloud provider's IAM mechanism, for
/// instance) and set it on <see cref="SaslOptions.CustomMechanism"/>.
/// </summary>
/// <remarks>
/// For every new connection the client sends SaslHandshake with <see cref="Name"/>, asks
/// <see cref="CreateExchange"/> for a fresh exchange, and carries its messages in SaslAuthenticate requests (KIP-152)
/// until the exchange says it is done. One instance serves every connection of a client, concurrently: keep
/// per-connection state in the exchange.
/// </remarks>
public interface ISaslMechanism
{
    /// <summary>The mechanism's registered name, as sent in SaslHandshake (e.g. <c>SCRAM-SHA-256</c>).</summary>
    string Name { get; }

    /// <summary>Starts the conversation for one connection.</summary>
    /// <param name="context">Which broker the connection is to.</param>
    /// <returns>The exchange, used for this connection only and disposed when it ends.</returns>
    ISaslExchange CreateExchange(SaslExchangeContext context);
}
