using System.Net.Sockets;
using System.Text;
using Messaging.Protocol;
using Messaging.Protocol.Messages;
using Messaging.Testing;
using Messaging.Testing.Security;

namespace Messaging.IntegrationTests.Security;

/// <summary>
/// As Kafka does, the proxy closes a connection whose authentication failed (a mechanism it does not enable, a
/// refused credential), once the error is sent: a client that tried again on the same connection would pass here and
/// fail against a broker.
/// </summary>
public sealed class ProxyFailedAuthenticationTests
{
    private static readonly TimeSpan AnswerWithin = TimeSpan.FromSeconds(10);

    [Theory(Timeout = 60_000)]
    [InlineData("PLAIN", "wrong")]
    [InlineData("SCRAM-SHA-256", null)]
    public async Task A_connection_whose_authentication_failed_is_closed_after_the_error(string mechanism, string? password)
    {
        var ct = TestContext.Current.CancellationToken;
        using var cluster = EmbeddedKafkaCluster.Start(brokers: 1);
        await using var proxy = KafkaProxy.Start(cluster, RawFrames.PlainAlice());
        using var client = await RawFrames.ConnectAsync(proxy, ct);
        var stream = client.GetStream();

        await RawFrames.SendAsync(stream, new SaslHandshakeRequest { Mechanism = mechanism }, SaslHandshakeRequest.MaxVersion, 1, ct);
        var handshake = await ReadAsync(stream, ct);
        Assert.NotNull(handshake);
        var handshakeError = KafkaFrames.ReadResponse<SaslHandshakeResponse>(handshake, SaslHandshakeRequest.MaxVersion, null, out _).ErrorCode;
        if (password is not null)
        {
            Assert.Equal(ErrorCode.None, handshakeError);
            await RawFrames.SendAsync(stream, new SaslAuthenticateRequest { AuthBytes = Encoding.UTF8.GetBytes("\0alice\0" + password) }, SaslAuthenticateRequest.MaxVersion, 2, ct);
            var authenticate = await ReadAsync(stream, ct);
            Assert.NotNull(authenticate);
            Assert.Equal(ErrorCode.SaslAuthenticationFailed, KafkaFrames.ReadResponse<SaslAuthenticateResponse>(authenticate, SaslAuthenticateRequest.MaxVersion, null, out _).ErrorCode);
        }
        else
        {
            Assert.Equal(ErrorCode.UnsupportedSaslMechanism, handshakeError);
        }

        Assert.Null(await ReadAsync(stream, ct)); // closed: the end of the stream, not another answer or silence
    }

    /// <summary>The next response frame, or null when the proxy closed the connection.</summary>
    private static async Task<byte[]?> ReadAsync(NetworkStream stream, CancellationToken ct)
    {
        try
        {
            return await RawFrames.ReadAsync(stream, AnswerWithin, ct);
        }
        catch (TimeoutException)
        {
            Assert.Fail("The proxy neither answered nor closed the connection within " + AnswerWithin.TotalSeconds + " s");
            throw;
        }
    }
}
