using Messaging.Testing.Brokers;

namespace Messaging.Rpc.Tests.Support;

/// <summary>Client settings for the test broker: short fetch waits (the embedded broker answers an empty Fetch only after the whole wait).</summary>
internal static class RpcTestSupport
{
    public static RpcClientOptions Options(string bootstrap, string replyTopic, Action<RpcClientOptions>? configure = null)
    {
        var options = new RpcClientOptions
        {
            BootstrapServers = bootstrap,
            ReplyTopic = replyTopic,
            ReplyTopicPartitions = 2,
            Producer = new KafkaProducerOptions { Linger = TimeSpan.Zero, Acks = Acks.Leader, CloseTimeout = TimeSpan.FromSeconds(2) },
            Consumer = new KafkaConsumerOptions { FetchMaxWait = TimeSpan.FromMilliseconds(10) },
        };
        configure?.Invoke(options);
        return options;
    }

    /// <summary>A broker with a request topic (two partitions unless told) and a reply topic of two partitions.</summary>
    public static async Task<(ITestBroker Broker, string Requests, string Replies)> BrokerAsync(TestBrokerFixture fixture, CancellationToken cancellationToken,
        int requestPartitions = 2, bool faultInjection = false)
    {
        var broker = await fixture.AcquireAsync(faultInjection: faultInjection, cancellationToken: cancellationToken);
        var requests = TestBrokerFixture.UniqueTopicName("rpc-requests");
        var replies = TestBrokerFixture.UniqueTopicName("rpc-replies");
        await broker.CreateTopicAsync(requests, requestPartitions, 1, cancellationToken);
        await broker.CreateTopicAsync(replies, 2, 1, cancellationToken);
        return (broker, requests, replies);
    }
}
