using System.Security.Authentication;
using System.Text;

namespace Messaging.Security;

/// <summary>
/// SASL OAUTHBEARER (RFC 7628, KIP-255): the client's one message is <c>n,,^Aauth=Bearer token^A[key=value^A...]^A</c>.
/// An accepted token gets an empty reply; a refused one gets an error document, to which RFC 7628 has the client answer
/// a single <c>^A</c> so the broker can fail the exchange with its message (SaslAuthenticate's error).
/// </summary>
internal sealed class OAuthBearerMechanism(OAuthBearerTokenCache tokens) : ISaslMechanism
{
    private const char Separator = '\u0001';

    public string Name => "OAUTHBEARER";

    public OAuthBearerTokenCache Tokens => tokens;

    public ISaslExchange CreateExchange(SaslExchangeContext context) => new Exchange(tokens);

    /// <summary>The client's initial response for <paramref name="token"/>.</summary>
    internal static byte[] InitialResponse(OAuthBearerToken token)
    {
        var text = new StringBuilder("n,,").Append(Separator).Append("auth=Bearer ").Append(token.Value).Append(Separator);
        foreach (var (key, value) in token.Extensions)
        {
            text.Append(key).Append('=').Append(value).Append(Separator);
        }

        return Encoding.UTF8.GetBytes(text.Append(Separator).ToString());
    }

    private sealed class Exchange(OAuthBearerTokenCache tokens) : ISaslExchange
    {
        private string? _error;

        public async ValueTask<ReadOnlyMemory<byte>> StartAsync(CancellationToken cancellationToken) =>
            InitialResponse(await tokens.GetAsync(cancellationToken).ConfigureAwait(false));

        public ValueTask<ReadOnlyMemory<byte>?> ContinueAsync(ReadOnlyMemory<byte> serverMessage, CancellationToken cancellationToken)
        {
            if (serverMessage.IsEmpty)
            {
                return new((ReadOnlyMemory<byte>?)null);
            }

            if (_error is not null)
            {
                throw new AuthenticationException("The broker refused the OAUTHBEARER token: " + _error);
            }

            // The error document (status, scope, openid-configuration) says why; the broker's final error follows.
            _error = Encoding.UTF8.GetString(serverMessage.Span);
            return new((ReadOnlyMemory<byte>?)new byte[] { (byte)Separator });
        }

        public void Dispose()
        {
        }
    }
}
