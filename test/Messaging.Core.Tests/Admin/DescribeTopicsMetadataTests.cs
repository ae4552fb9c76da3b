using Messaging.Core.Tests.Producer;

namespace Messaging.Core.Tests.Admin;

/// <summary>
/// <see cref="KafkaAdminClient.DescribeTopicsAsync"/> asks for the named topics in a Metadata request of their own: they
/// do not join the admin client's later metadata refreshes (an RPC server describes every new reply topic, so a
/// long-running one would otherwise name every topic it ever replied to in each request), and concurrent describes of
/// the same topic are independent.
/// </summary>
public sealed class DescribeTopicsMetadataTests
{
    private const string Described = ScriptedProduceBroker.LateTopic;

    [Fact(Timeout = 30_000)]
    public async Task A_described_topic_is_not_named_by_the_admin_clients_later_metadata_refreshes()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker { LateTopicListed = true };
        await using var admin = new KafkaAdminClient(new KafkaAdminOptions { BootstrapServers = broker.BootstrapServers });

        var described = Assert.Single(await admin.DescribeTopicsAsync([Described], ct));
        Assert.Equal(Described, described.Name);
        Assert.Contains(broker.MetadataTopics, asked => asked is not null && asked.SequenceEqual([Described]));

        var before = broker.MetadataTopics.Count;
        await admin.DescribeClusterAsync(ct);
        var refresh = broker.MetadataTopics.Skip(before).Last();
        Assert.NotNull(refresh);
        Assert.DoesNotContain(Described, refresh);
    }

    [Fact(Timeout = 30_000)]
    public async Task Concurrent_describes_of_the_same_topic_all_succeed()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = new ScriptedProduceBroker { LateTopicListed = true };
        await using var admin = new KafkaAdminClient(new KafkaAdminOptions { BootstrapServers = broker.BootstrapServers });

        var describes = new Task<IReadOnlyList<TopicInfo>>[8];
        for (var i = 0; i < describes.Length; i++)
        {
            describes[i] = admin.DescribeTopicsAsync([Described, ScriptedProduceBroker.Topic], ct);
        }

        foreach (var described in await Task.WhenAll(describes))
        {
            Assert.Equal([Described, ScriptedProduceBroker.Topic], described.Select(t => t.Name));
        }

        var before = broker.MetadataTopics.Count;
        await admin.DescribeClusterAsync(ct);
        var refresh = broker.MetadataTopics.Skip(before).Last();
        Assert.NotNull(refresh);
        Assert.Empty(refresh);
    }
}
