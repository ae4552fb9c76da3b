using Messaging.IntegrationTests.Cluster;
using Messaging.IntegrationTests.Support;
using Messaging.Rpc;

namespace Messaging.IntegrationTests.Rpc;

/// <summary>An RPC client's per-instance reply topic against a controller that answers CreateTopics slowly (<see cref="FakeControllerBroker"/>).</summary>
public sealed class RpcClientReplyTopicTests
{
    [Fact(Timeout = 60_000)]
    public async Task A_dispose_that_interrupts_the_start_after_the_topic_was_created_deletes_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var fake = FakeControllerBroker.Start();
        fake.CreateDelay = TimeSpan.FromSeconds(2);
        var client = new RpcClient(new RpcClientOptions
        {
            BootstrapServers = fake.BootstrapServers,
            ReplyTopic = "replies",
            ReplyMode = RpcReplyMode.PerInstanceTopic,
            InstanceId = "pod-a",
            StartTimeout = TimeSpan.FromSeconds(10),
        });
        var start = client.StartAsync(ct);

        // The controller made the topic; its answer is on the way when the client goes away.
        await Eventually.TrueAsync(() => fake.Topics.Count > 0, TimeSpan.FromSeconds(20), "the controller made the per-instance reply topic", ct);
        var own = Assert.Single(fake.Topics.Keys);
        Assert.StartsWith("replies-pod-a-", own, StringComparison.Ordinal);
        await client.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => start);
        Assert.Empty(fake.Topics);
        Assert.Contains(fake.DeleteRequests, names => names.Contains(own));
    }
}
