using System.Net.Sockets;
using System.Text;
using Messaging.Protocol;
using Messaging.Protocol.Messages;
using Messaging.Testing;
using Messaging.Testing.Security;

namespace Messaging.IntegrationTests.Security;

/// <summary>
/// A request the proxy's blackhole swallows never reaches the broker, so no response will ever answer it: the proxy
/// must not wait for one. Otherwise, once the blackhole is lifted, every later response is paired with the request
/// before its own (and rewritten as that request's API), and a re-authentication waits for ever for the requests
/// ahead of it to be answered.
/// </summary>
public sealed class ProxyBlackholeTests
{
    private const short ApiVersionsVersion = 0;

    private static readonly TimeSpan AnswerWithin = TimeSpan.FromSeconds(10);

    [Fact(Timeout = 60_000)]
    public async Task A_request_swallowed_by_the_blackhole_leaves_later_responses_paired_with_their_own_requests()
    {
        var ct = TestContext.Current.CancellationToken;
        using var cluster = EmbeddedKafkaCluster.Start(brokers: 1);
        await using var proxy = KafkaProxy.Start(cluster, RawFrames.PlainAlice());
        using var client = await RawFrames.ConnectAsync(proxy, ct);
        var stream = client.GetStream();

        await RawFrames.SendAsync(stream, new ApiVersionsRequest(), ApiVersionsVersion, 1, ct);
        Assert.Equal(ErrorCode.None, (await ReadAsync<ApiVersionsResponse>(stream, ApiVersionsVersion, 1, "ApiVersions", ct)).ErrorCode);
        await AuthenticateAsync(stream, 2, ct);

        // A Metadata request into the blackhole, then a re-authentication (the proxy answers SASL itself, in order).
        var faults = proxy.Brokers[0].Faults;
        faults.Blackhole = true;
        await RawFrames.SendAsync(stream, new MetadataRequest { Topics = [] }, MetadataRequest.MaxVersion, 4, ct);
        await AuthenticateAsync(stream, 5, ct);

        // Lifted: the next request's response is its own.
        faults.Blackhole = false;
        await RawFrames.SendAsync(stream, new ApiVersionsRequest(), ApiVersionsVersion, 7, ct);
        var versions = await ReadAsync<ApiVersionsResponse>(stream, ApiVersionsVersion, 7, "ApiVersions after the blackhole", ct);
        Assert.Equal(ErrorCode.None, versions.ErrorCode);
        Assert.NotEmpty(versions.ApiKeys);
    }

    private static async Task AuthenticateAsync(NetworkStream stream, int correlationId, CancellationToken ct)
    {
        await RawFrames.SendAsync(stream, new SaslHandshakeRequest { Mechanism = "PLAIN" }, SaslHandshakeRequest.MaxVersion, correlationId, ct);
        Assert.Equal(ErrorCode.None, (await ReadAsync<SaslHandshakeResponse>(stream, SaslHandshakeRequest.MaxVersion, correlationId, "SaslHandshake", ct)).ErrorCode);
        await RawFrames.SendAsync(stream, new SaslAuthenticateRequest { AuthBytes = Encoding.UTF8.GetBytes("\0alice\0secret") }, SaslAuthenticateRequest.MaxVersion, correlationId + 1, ct);
        Assert.Equal(ErrorCode.None, (await ReadAsync<SaslAuthenticateResponse>(stream, SaslAuthenticateRequest.MaxVersion, correlationId + 1, "SaslAuthenticate", ct)).ErrorCode);
    }

    private static async Task<TResponse> ReadAsync<TResponse>(NetworkStream stream, short version, int correlationId, string what, CancellationToken ct)
        where TResponse : IKafkaMessage<TResponse>
    {
        byte[]? frame;
        try
        {
            frame = await RawFrames.ReadAsync(stream, AnswerWithin, ct);
        }
        catch (TimeoutException)
        {
            frame = null;
        }

        Assert.True(frame is not null, "The proxy did not answer " + what + " (correlation id " + correlationId + ")");
        Assert.Equal(correlationId, KafkaFrames.PeekCorrelationId(frame));
        return KafkaFrames.ReadResponse<TResponse>(frame, version, null, out _);
    }
}
