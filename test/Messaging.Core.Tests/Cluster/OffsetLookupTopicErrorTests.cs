using Messaging.Cluster;
using Messaging.Core.Tests.Connection;
using Messaging.Protocol.Messages;

namespace Messaging.Core.Tests.Cluster;

/// <summary>
/// A topic error in the metadata that no retry cures (TOPIC_AUTHORIZATION_FAILED) ends the lookup of its partitions at
/// once, with its own code and not retriable; retrying it would only spend the caller's whole retry window and then
/// report an error the caller would retry again.
/// </summary>
public sealed class OffsetLookupTopicErrorTests
{
    [Fact(Timeout = 20_000)]
    public async Task A_topic_the_client_may_not_describe_fails_at_once_as_not_retriable_with_its_own_code()
    {
        var ct = TestContext.Current.CancellationToken;
        var broker = new InMemoryBroker
        {
            OnMetadata = static (_, _) => new MetadataResponse
            {
                Brokers = [new() { NodeId = 1, Host = "broker1.test", Port = 9092 }],
                ControllerId = 1,
                Topics = [new() { Name = "secret", ErrorCode = ErrorCode.TopicAuthorizationFailed, Partitions = [] }],
            },
        };
        await using var cluster = new ClusterClient(new KafkaClientOptions { BootstrapServers = "broker1.test:9092", TransportFactory = broker });
        var lookup = new OffsetLookup(cluster, retryBackoff: TimeSpan.FromMilliseconds(20));
        var partition = new TopicPartition("secret", 0);

        // A retry window far longer than the bound: a lookup that retries the error shows as a TimeoutException of the bound.
        var results = await lookup.LookUpAsync([new(partition, OffsetSpec.Latest)], IsolationLevel.ReadUncommitted, TimeSpan.FromHours(1), ct)
            .WaitAsync(TimeSpan.FromSeconds(10), ct);

        var result = results[partition];
        Assert.False(result.Succeeded);
        Assert.False(result.IsRetriable);
        Assert.Equal(ErrorCode.TopicAuthorizationFailed, Assert.IsType<KafkaErrorException>(result.Error).Code);
    }
}
