using System.Text;

namespace Messaging.Security;

/// <summary>
/// SASL PLAIN (RFC 4616): one message, <c>authzid NUL authcid NUL password</c> with an empty authorization id, as
/// Kafka expects. The broker's empty reply ends the exchange; a refusal comes back as SaslAuthenticate's error.
/// </summary>
internal sealed class PlainMechanism(string username, string password) : ISaslMechanism
{
    public string Name => "PLAIN";

    public ISaslExchange CreateExchange(SaslExchangeContext context) => new Exchange(username, password);

    public override string ToString() => "PLAIN (user " + username + ")";

    private sealed class Exchange(string username, string password) : ISaslExchange
    {
        private byte[]? _message;

        public ValueTask<ReadOnlyMemory<byte>> StartAsync(CancellationToken cancellationToken)
        {
            var user = Encoding.UTF8.GetByteCount(username);
            _message = new byte[1 + user + 1 + Encoding.UTF8.GetByteCount(password)];
            Encoding.UTF8.GetBytes(username, _message.AsSpan(1));
            Encoding.UTF8.GetBytes(password, _message.AsSpan(2 + user));
            return new ValueTask<ReadOnlyMemory<byte>>(_message);
        }

        public ValueTask<ReadOnlyMemory<byte>?> ContinueAsync(ReadOnlyMemory<byte> serverMessage, CancellationToken cancellationToken) =>
            new((ReadOnlyMemory<byte>?)null);

        /// <summary>Wipes the message, which holds the password.</summary>
        public void Dispose()
        {
            if (_message is not null)
            {
                Array.Clear(_message);
            }
        }
    }
}
