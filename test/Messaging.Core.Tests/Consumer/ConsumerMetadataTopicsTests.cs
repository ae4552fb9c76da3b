using System.Globalization;
using System.Text.RegularExpressions;
using Messaging.Core.Tests.Cluster;
using Messaging.Core.Tests.Connection;
using Messaging.Protocol;

namespace Messaging.Core.Tests.Consumer;

/// <summary>
/// The consumer's Metadata requests name the topics it needs now — its assignment, its subscription — as the Java
/// consumer's follow its subscription: a topic it was assigned or subscribed to before leaves them.
/// </summary>
public sealed class ConsumerMetadataTopicsTests
{
    [Fact(Timeout = 30_000)]
    public async Task A_topic_no_longer_assigned_leaves_the_metadata_requests()
    {
        var ct = TestContext.Current.CancellationToken;
        var broker = Broker();
        await using var consumer = new KafkaConsumer(Options(broker));

        consumer.Assign([new TopicPartitionOffset(new TopicPartition("orders", 0), OffsetSpec.At(0))]);
        Assert.Equal("orders", await NextRequestAsync(consumer, broker, ct));

        consumer.Assign([new TopicPartitionOffset(new TopicPartition("payments", 0), OffsetSpec.At(0))]);
        Assert.Equal("payments", await NextRequestAsync(consumer, broker, ct));
        Assert.False(consumer.Cluster.Metadata.Current.Topics.ContainsKey("orders"), "the metadata still holds the topic no longer assigned");

        consumer.Unassign();
        Assert.Equal("", await NextRequestAsync(consumer, broker, ct));
    }

    [Theory(Timeout = 30_000)]
    [InlineData(GroupProtocol.Classic, false)]
    [InlineData(GroupProtocol.Consumer, false)]
    [InlineData(GroupProtocol.Classic, true)]
    [InlineData(GroupProtocol.Consumer, true)]
    public async Task A_topic_left_out_of_a_new_subscription_leaves_the_metadata_requests(GroupProtocol protocol, bool fromPattern)
    {
        var ct = TestContext.Current.CancellationToken;
        var broker = Broker();
        await using var consumer = new KafkaConsumer(Options(broker, protocol));

        if (fromPattern)
        {
            consumer.Subscribe(new Regex("ord.*"));
        }
        else
        {
            consumer.Subscribe(["orders"]);
        }

        Assert.Equal(fromPattern ? EveryTopic : "orders", await NextRequestAsync(consumer, broker, ct));

        consumer.Subscribe(["payments"]);
        Assert.Equal("payments", await NextRequestAsync(consumer, broker, ct));
    }

    /// <summary>Answers Metadata; the consumer's Fetch and its group's requests are not offered, so they never go out.</summary>
    private static InMemoryBroker Broker()
    {
        var broker = new InMemoryBroker { OnMetadata = (_, _) => MetadataRemovedTopicTests.Answer() };
        broker.NotSupported.UnionWith([ApiKey.Fetch, ApiKey.FindCoordinator, ApiKey.ConsumerGroupHeartbeat]);
        return broker;
    }

    private static KafkaConsumerOptions Options(InMemoryBroker broker, GroupProtocol? protocol = null) => new()
    {
        BootstrapServers = "broker1.test:9092",
        TransportFactory = broker,
        GroupId = protocol is null ? null : "metadata-topics",
        GroupProtocol = protocol ?? GroupProtocol.Classic,
        EnableAutoCommit = false,
    };

    private const string EveryTopic = "<every topic>";

    private static readonly TimeSpan RefreshWithin = TimeSpan.FromSeconds(12);

    /// <summary>The topics of a Metadata request built after this call, sorted and comma-separated (<see cref="EveryTopic"/>: every topic).</summary>
    private static async Task<string> NextRequestAsync(KafkaConsumer consumer, InMemoryBroker broker, CancellationToken ct)
    {
        // Requests go out one at a time from one loop, so the last one sent once a refresh started now has answered was built after this call.
        var refresh = consumer.Cluster.Metadata.RefreshAsync(ct);
        try
        {
            await refresh.WaitAsync(RefreshWithin, ct);
        }
        catch (TimeoutException)
        {
            // Refreshes are spaced by at most a second: say what the refresher and the broker had done by then.
            throw new TimeoutException(string.Create(CultureInfo.InvariantCulture,
                $"No metadata refresh within {RefreshWithin.TotalSeconds} s: the refresher had sent {consumer.Cluster.Metadata.RequestsSent} Metadata requests, the broker seen {broker.MetadataTopics.Count} on {broker.Connects} connection(s)."));
        }

        var asked = broker.MetadataTopics.Last();
        return asked is null ? EveryTopic : string.Join(",", asked.Order(StringComparer.Ordinal));
    }
}
