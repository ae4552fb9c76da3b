using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Messaging.IntegrationTests.EmbeddedBroker;
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
        var options = new KafkaProxyOptions();
        options.SaslMechanisms.Add("PLAIN");
        options.Users["alice"] = "secret";
        await using var proxy = KafkaProxy.Start(cluster, options);
        var (host, port) = ClusterLifecycleTests.FirstEndpoint(proxy.BootstrapServers);
        using var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(host, port, ct);
        var stream = client.GetStream();

        await SendAsync(stream, new ApiVersionsRequest(), ApiVersionsVersion, 1, ct);
        Assert.Equal(ErrorCode.None, (await ReadAsync<ApiVersionsResponse>(stream, ApiVersionsVersion, 1, "ApiVersions", ct)).ErrorCode);
        await AuthenticateAsync(stream, 2, ct);

        // A Metadata request into the blackhole, then a re-authentication (the proxy answers SASL itself, in order).
        var faults = proxy.Brokers[0].Faults;
        faults.Blackhole = true;
        await SendAsync(stream, new MetadataRequest { Topics = [] }, MetadataRequest.MaxVersion, 4, ct);
        await AuthenticateAsync(stream, 5, ct);

        // Lifted: the next request's response is its own.
        faults.Blackhole = false;
        await SendAsync(stream, new ApiVersionsRequest(), ApiVersionsVersion, 7, ct);
        var versions = await ReadAsync<ApiVersionsResponse>(stream, ApiVersionsVersion, 7, "ApiVersions after the blackhole", ct);
        Assert.Equal(ErrorCode.None, versions.ErrorCode);
        Assert.NotEmpty(versions.ApiKeys);
    }

    private static async Task AuthenticateAsync(NetworkStream stream, int correlationId, CancellationToken ct)
    {
        await SendAsync(stream, new SaslHandshakeRequest { Mechanism = "PLAIN" }, SaslHandshakeRequest.MaxVersion, correlationId, ct);
        Assert.Equal(ErrorCode.None, (await ReadAsync<SaslHandshakeResponse>(stream, SaslHandshakeRequest.MaxVersion, correlationId, "SaslHandshake", ct)).ErrorCode);
        await SendAsync(stream, new SaslAuthenticateRequest { AuthBytes = Encoding.UTF8.GetBytes("\0alice\0secret") }, SaslAuthenticateRequest.MaxVersion, correlationId + 1, ct);
        Assert.Equal(ErrorCode.None, (await ReadAsync<SaslAuthenticateResponse>(stream, SaslAuthenticateRequest.MaxVersion, correlationId + 1, "SaslAuthenticate", ct)).ErrorCode);
    }

    private static async Task SendAsync<TRequest>(NetworkStream stream, TRequest request, short version, int correlationId, CancellationToken ct)
        where TRequest : IKafkaMessage<TRequest>
    {
        using var buffer = new ContiguousBufferWriter();
        KafkaFrames.WriteRequest(buffer, request, version, correlationId, "raw-client");
        await stream.WriteAsync(buffer.WrittenMemory, ct);
    }

    private static async Task<TResponse> ReadAsync<TResponse>(NetworkStream stream, short version, int correlationId, string what, CancellationToken ct)
        where TResponse : IKafkaMessage<TResponse>
    {
        byte[] frame;
        try
        {
            var prefix = new byte[4];
            await stream.ReadExactlyAsync(prefix, ct).AsTask().WaitAsync(AnswerWithin, ct);
            frame = new byte[BinaryPrimitives.ReadInt32BigEndian(prefix)];
            await stream.ReadExactlyAsync(frame, ct).AsTask().WaitAsync(AnswerWithin, ct);
        }
        catch (Exception ex) when (ex is TimeoutException or EndOfStreamException or IOException)
        {
            Assert.Fail("The proxy did not answer " + what + " (correlation id " + correlationId + "): " + ex.GetType().Name);
            throw;
        }

        Assert.Equal(correlationId, KafkaFrames.PeekCorrelationId(frame));
        return KafkaFrames.ReadResponse<TResponse>(frame, version, null, out _);
    }
}
