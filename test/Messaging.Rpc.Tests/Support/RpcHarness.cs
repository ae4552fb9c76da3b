using Messaging.Testing.Brokers;

namespace Messaging.Rpc.Tests.Support;

/// <summary>
/// One test's broker with a request topic and a reply topic (two partitions each), the test replier serving the
/// request topic, and a client; disposed in reverse order.
/// </summary>
internal sealed class RpcHarness : IAsyncDisposable
{
    private RpcHarness(ITestBroker broker, string requests, string replies, TestReplier replier, RpcClient client)
    {
        Broker = broker;
        Requests = requests;
        Replies = replies;
        Replier = replier;
        Client = client;
    }

    public ITestBroker Broker { get; }

    public string Requests { get; }

    public string Replies { get; }

    public TestReplier Replier { get; }

    public RpcClient Client { get; }

    public static async Task<RpcHarness> StartAsync(TestBrokerFixture fixture, Action<RpcClientOptions>? configure, CancellationToken cancellationToken)
    {
        var (broker, requests, replies) = await RpcTestSupport.BrokerAsync(fixture, cancellationToken);
        var replier = TestReplier.Start(broker.BootstrapServers, requests, 2);
        return new RpcHarness(broker, requests, replies, replier, new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies, configure)));
    }

    /// <summary>Another client on the same broker and reply topic.</summary>
    public RpcClient NewClient(Action<RpcClientOptions>? configure = null) => new(RpcTestSupport.Options(Broker.BootstrapServers, Replies, configure));

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await Replier.DisposeAsync();
        await Broker.DisposeAsync();
    }
}
