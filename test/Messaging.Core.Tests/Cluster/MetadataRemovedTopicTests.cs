using Messaging.Cluster;
using Messaging.Core.Tests.Connection;
using Messaging.IntegrationTests.Support;
using Messaging.Protocol;
using Messaging.Protocol.Messages;

namespace Messaging.Core.Tests.Cluster;

/// <summary>
/// A topic removed from the metadata (a producer's idle topic, a consumer's unsubscribe) while a refresh that names it
/// is in flight stays removed when that refresh answers.
/// </summary>
public sealed class MetadataRemovedTopicTests
{
    /// <summary>One broker leading "orders" and "payments", one partition each.</summary>
    internal static MetadataResponse Answer() => new()
    {
        Brokers = [new() { NodeId = 1, Host = "broker1.test", Port = 9092 }],
        ClusterId = "in-memory",
        ControllerId = 1,
        Topics =
        [
            new() { Name = "orders", TopicId = Guid.NewGuid(), Partitions = [new() { PartitionIndex = 0, LeaderId = 1, LeaderEpoch = 0, ReplicaNodes = [1], IsrNodes = [1] }] },
            new() { Name = "payments", TopicId = Guid.NewGuid(), Partitions = [new() { PartitionIndex = 0, LeaderId = 1, LeaderEpoch = 0, ReplicaNodes = [1], IsrNodes = [1] }] },
        ],
    };

    [Fact(Timeout = 10_000)]
    public async Task A_topic_removed_while_a_refresh_naming_it_is_in_flight_is_not_brought_back_by_its_answer()
    {
        var ct = TestContext.Current.CancellationToken;
        var broker = new InMemoryBroker { OnMetadata = (_, _) => Answer() };
        await using var cluster = new ClusterClient(new KafkaClientOptions { BootstrapServers = "broker1.test:9092", TransportFactory = broker });
        cluster.Metadata.AddTopics(["orders", "payments"]);
        Assert.True((await cluster.Metadata.RefreshAsync(ct)).Topics.ContainsKey("payments"));

        // A refresh naming both topics is in flight when "payments" is removed.
        broker.Hold = static apiKey => apiKey == ApiKey.Metadata;
        var refresh = cluster.Metadata.RefreshAsync(ct);
        await Eventually.TrueAsync(() => broker.Opened.Any(t => !t.Held.IsEmpty), TimeSpan.FromSeconds(5), "the refresh reaching the broker", ct);
        Assert.Equal(["orders", "payments"], broker.MetadataTopics.Last()!.Order(StringComparer.Ordinal));
        cluster.Metadata.RemoveTopics(["payments"]);
        Assert.False(cluster.Metadata.Current.Topics.ContainsKey("payments"));

        broker.Hold = null;
        broker.Opened.First(t => !t.Held.IsEmpty).AnswerHeld();
        var answered = await refresh;

        Assert.False(answered.Topics.ContainsKey("payments"), "the answered refresh brought back the removed topic");
        Assert.False(cluster.Metadata.Current.Topics.ContainsKey("payments"));
        Assert.True(cluster.Metadata.Current.Topics.ContainsKey("orders"));
    }
}
