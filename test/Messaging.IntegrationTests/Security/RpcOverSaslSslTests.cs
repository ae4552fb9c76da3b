using Messaging.IntegrationTests.Support;
using Messaging.Rpc;
using Messaging.Testing;
using Messaging.Testing.Brokers;
using Messaging.Testing.Security;

namespace Messaging.IntegrationTests.Security;

/// <summary>RPC calls and their replies over SASL_SSL with each mechanism: client and server both through the proxy's TLS and SASL.</summary>
public sealed class RpcOverSaslSslTests(TestBrokerFixture fixture) : IDisposable
{
    private readonly TestCertificateAuthority _ca = new();

    public void Dispose() => _ca.Dispose();

    public sealed record Ping(string Text);

    public sealed record Pong(string Text);

    [Theory(Timeout = 180_000)]
    [MemberData(nameof(SaslThroughProxyTests.Mechanisms), MemberType = typeof(SaslThroughProxyTests))]
    public async Task Calls_round_trip_with_every_connection_authenticated_and_encrypted(SaslMechanism mechanism)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(cancellationToken: ct);
        var requests = TestBrokerFixture.UniqueTopicName("rpc-secure");
        var replies = TestBrokerFixture.UniqueTopicName("rpc-secure-replies");
        await broker.CreateTopicAsync(requests, 2, 1, ct);
        await broker.CreateTopicAsync(replies, 1, 1, ct);
        using var certificate = _ca.IssueServerCertificate();
        await using var proxy = KafkaProxy.Start(broker.BootstrapServers, SaslThroughProxyTests.ProxyOptions(certificate, SaslThroughProxyTests.SaslOptionsFor(mechanism, "alice", "wonderland").MechanismName));
        var ssl = new SslOptions { CaPem = _ca.CertificatePem };
        var sasl = SaslThroughProxyTests.SaslOptionsFor(mechanism, "alice", "wonderland");

        // Security set once on the RPC options: the nested producer, consumer and admin client inherit it.
        var serverOptions = new RpcServerOptions
        {
            BootstrapServers = proxy.BootstrapServers, RequestTopics = [requests], GroupId = "secure-" + Guid.NewGuid().ToString("N")[..8],
            SecurityProtocol = SecurityProtocol.SaslSsl, Ssl = ssl, Sasl = sasl,
            Consumer = { FetchMaxWait = EmbeddedKafkaCluster.RecommendedFetchMaxWait },
        };
        await using var server = new RpcServer(serverOptions);
        server.Map<Ping, Pong>("Ping", (request, _) => ValueTask.FromResult(new Pong("pong:" + request.Text)));
        await server.StartAsync(ct);
        // The subject is the secured round trip: wait until the server has joined its group through the proxy (a
        // loaded run was seen to take longer than one call's 30 s deadline to get there).
        await Eventually.TrueAsync(() => server.Assignment.Count == 2, TimeSpan.FromSeconds(90), "the server owning both request partitions", ct);

        var clientOptions = new RpcClientOptions
        {
            BootstrapServers = proxy.BootstrapServers, ReplyTopic = replies, ReplyTopicPartitions = 1,
            SecurityProtocol = SecurityProtocol.SaslSsl, Ssl = ssl, Sasl = sasl,
            Consumer = { FetchMaxWait = EmbeddedKafkaCluster.RecommendedFetchMaxWait },
        };
        await using var client = new RpcClient(clientOptions);

        for (var i = 0; i < 20; i++)
        {
            var reply = await client.CallAsync<Ping, Pong>(requests, "Ping", new Ping("n" + i), cancellationToken: ct);
            Assert.Equal("pong:n" + i, reply.Text);
        }

        // The proxy takes only TLS with SASL: the replies came back, so the server's consumer and producer and the
        // client's producer and consumer all connected secured — inheriting the RPC options' security in the server's
        // and client's own copies, the caller's nested options left as they were.
        Assert.True(proxy.Connections >= 4, "client and server connected through the proxy");
        Assert.All(new KafkaClientOptions[] { serverOptions.Producer, serverOptions.Consumer, clientOptions.Producer, clientOptions.Consumer, clientOptions.Admin },
            nested => Assert.Equal(SecurityProtocol.Plaintext, nested.SecurityProtocol));
    }
}
