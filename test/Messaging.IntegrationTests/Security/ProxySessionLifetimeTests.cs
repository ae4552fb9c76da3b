using System.Text;
using Messaging.Protocol;
using Messaging.Protocol.Messages;
using Messaging.Testing;
using Messaging.Testing.Security;

namespace Messaging.IntegrationTests.Security;

/// <summary>
/// The proxy grants any session lifetime it is given, the longest there is included (a broker's
/// <c>connections.max.reauth.ms</c> of Long.MAX_VALUE): a session that long does not end.
/// </summary>
public sealed class ProxySessionLifetimeTests
{
    private static readonly TimeSpan AnswerWithin = TimeSpan.FromSeconds(10);

    [Fact(Timeout = 60_000)]
    public async Task A_session_of_the_longest_lifetime_does_not_end_at_the_first_request()
    {
        var ct = TestContext.Current.CancellationToken;
        using var cluster = EmbeddedKafkaCluster.Start(brokers: 1);
        var options = RawFrames.PlainAlice();
        options.SessionLifetime = TimeSpan.MaxValue;
        await using var proxy = KafkaProxy.Start(cluster, options);
        using var client = await RawFrames.ConnectAsync(proxy, ct);
        var stream = client.GetStream();

        await RawFrames.SendAsync(stream, new SaslHandshakeRequest { Mechanism = "PLAIN" }, SaslHandshakeRequest.MaxVersion, 1, ct);
        Assert.NotNull(await RawFrames.ReadAsync(stream, AnswerWithin, ct));
        await RawFrames.SendAsync(stream, new SaslAuthenticateRequest { AuthBytes = Encoding.UTF8.GetBytes("\0alice\0secret") }, SaslAuthenticateRequest.MaxVersion, 2, ct);
        var authenticated = await RawFrames.ReadAsync(stream, AnswerWithin, ct);
        Assert.NotNull(authenticated);
        var response = KafkaFrames.ReadResponse<SaslAuthenticateResponse>(authenticated, SaslAuthenticateRequest.MaxVersion, null, out _);
        Assert.Equal(ErrorCode.None, response.ErrorCode);
        Assert.True(response.SessionLifetimeMs > 0);

        await RawFrames.SendAsync(stream, new ApiVersionsRequest(), 0, 3, ct);
        var answer = await RawFrames.ReadAsync(stream, AnswerWithin, ct);
        Assert.True(answer is not null, "the proxy closed the connection at the first request after authenticating (expired sessions: " + proxy.ExpiredSessions + ")");
        Assert.Equal(3, KafkaFrames.PeekCorrelationId(answer));
        Assert.Equal(0, proxy.ExpiredSessions);
    }
}
