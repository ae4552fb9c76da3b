using System.Text;
using Messaging.Rpc;
using Messaging.Testing;
using Messaging.Testing.Brokers;
using Messaging.Testing.Security;

namespace Messaging.IntegrationTests.Docs;

/// <summary>
/// The code samples of the README files, compiled and run against a broker: each region between
/// <c>// snippet: name</c> and <c>// end snippet</c> is the text of the markdown block marked
/// <c>&lt;!-- snippet: name --&gt;</c> (<see cref="ReadmeSnippetSyncTests"/> checks they are the same), so a sample
/// that stops compiling or working fails here, not in a user's editor.
/// </summary>
public sealed class ReadmeSnippets(TestBrokerFixture fixture)
{
    [Fact]
    public async Task Core_quickstart_produces_and_reads_back_a_record()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: cancellationToken);
        var bootstrap = broker.BootstrapServers;
        var topic = TestBrokerFixture.UniqueTopicName("orders");
        await broker.CreateTopicAsync(topic, 1, 1, cancellationToken);
        var seen = new List<string>();

        // snippet: core-quickstart
        await using var producer = new KafkaProducer<string, string>(
            new KafkaProducerOptions { BootstrapServers = bootstrap }, Serializers.Utf8, Serializers.Utf8);
        var delivered = await producer.ProduceAsync(topic, "order-42", """{"total": 99}""", cancellationToken);

        await using var consumer = new KafkaConsumer<string?, string?>(
            new KafkaConsumerOptions { BootstrapServers = bootstrap }, Deserializers.Utf8, Deserializers.Utf8);
        consumer.Assign([new TopicPartitionOffset(topic, delivered.Partition, OffsetSpec.Earliest)]);
        await foreach (var record in consumer.ConsumeAsync(cancellationToken))
        {
            Console.WriteLine($"{record.Key} = {record.Value} at offset {record.Offset}");
            seen.Add(record.Key + "=" + record.Value); // (the test's own check)
            break;
        }
        // end snippet

        Assert.Equal(["order-42={\"total\": 99}"], seen);
        Assert.Equal(0, delivered.Offset);
    }

    [Fact]
    public async Task Group_quickstart_reads_a_topic_as_a_group_member_and_commits_after_processing()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: cancellationToken);
        var bootstrap = broker.BootstrapServers;
        var topic = TestBrokerFixture.UniqueTopicName("invoices");
        var group = "billing-" + Guid.NewGuid().ToString("N")[..8];
        await broker.CreateTopicAsync(topic, 3, 1, cancellationToken);
        await using (var producer = new KafkaProducer<string, string>(new KafkaProducerOptions { BootstrapServers = bootstrap }, Serializers.Utf8, Serializers.Utf8))
        {
            for (var i = 0; i < 3; i++)
            {
                await producer.ProduceAsync(topic, "invoice-" + i, "{}", cancellationToken);
            }
        }

        var handled = 0;

        // snippet: group-quickstart
        await using var consumer = new KafkaConsumer<string?, string?>(new KafkaConsumerOptions
        {
            BootstrapServers = bootstrap,
            GroupId = group,                 // every instance of the service uses the same group id
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoOffsetStore = false,   // store after processing: at-least-once
        }, Deserializers.Utf8, Deserializers.Utf8);
        consumer.Subscribe([topic]);
        await foreach (var record in consumer.ConsumeAsync(cancellationToken))
        {
            Console.WriteLine($"{record.Key} from {record.TopicPartition} at offset {record.Offset}");
            consumer.StoreOffset(record);    // committed in the background, on rebalance and on dispose
            if (++handled == 3) break;       // (the test stops after its three records)
        }
        // end snippet

        await consumer.CommitAsync(cancellationToken);
        var committed = await consumer.CommittedAsync(consumer.Assignment, cancellationToken);
        Assert.Equal(3, committed.Where(c => c.HasOffset).Sum(c => c.Offset)); // next offsets; a partition without records has none
    }

    public sealed record PriceQuery(string Sku);

    public sealed record Price(string Sku, decimal Amount);

    [Fact]
    public async Task Rpc_quickstart_serves_and_calls_a_method_over_kafka()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: cancellationToken);
        var bootstrap = broker.BootstrapServers;
        var topic = TestBrokerFixture.UniqueTopicName("prices");
        var replies = TestBrokerFixture.UniqueTopicName("replies");
        await broker.CreateTopicAsync(topic, 2, 1, cancellationToken);
        await broker.CreateTopicAsync(replies, 1, 1, cancellationToken);

        // snippet: rpc-quickstart
        // The service: answers GetPrice on the request topic, as a member of the consumer group "pricing".
        await using var server = new RpcServer(new RpcServerOptions { BootstrapServers = bootstrap, RequestTopics = [topic], GroupId = "pricing" });
        server.Map<PriceQuery, Price>("GetPrice", (query, context) => ValueTask.FromResult(new Price(query.Sku, 9.99m)));
        await server.StartAsync(cancellationToken);

        // A caller: one RpcClient per process, shared by every call; replies come back on the reply topic.
        await using var client = new RpcClient(new RpcClientOptions { BootstrapServers = bootstrap, ReplyTopic = replies });
        var price = await client.CallAsync<PriceQuery, Price>(topic, "GetPrice", new PriceQuery("sku-1"), cancellationToken: cancellationToken);
        Console.WriteLine($"{price.Sku} costs {price.Amount}");
        // end snippet

        Assert.Equal(new Price("sku-1", 9.99m), price);
    }

    [Fact]
    public async Task Testing_quickstart_starts_an_embedded_cluster_and_injects_a_fault()
    {
        var cancellationToken = TestContext.Current.CancellationToken;

        // snippet: testing-quickstart
        await using var cluster = EmbeddedKafkaCluster.Start(brokers: 3);
        cluster.CreateTopic("orders", partitions: 6, replicationFactor: 3);

        await using var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = cluster.BootstrapServers });
        cluster.SetBrokerDown(1);          // the producer rides out a broker restart
        var pending = producer.ProduceAsync("orders", key: "k"u8.ToArray(), value: "v"u8.ToArray(), cancellationToken: cancellationToken);
        cluster.SetBrokerUp(1);
        var delivered = await pending;
        // end snippet

        Assert.Equal("orders", delivered.TopicPartition.Topic);
    }

    [Fact]
    public async Task Testing_topic_administration_creates_and_deletes_topics_through_the_proxy()
    {
        var cancellationToken = TestContext.Current.CancellationToken;

        // snippet: testing-topic-administration
        await using var cluster = EmbeddedKafkaCluster.Start();
        await using var proxy = KafkaProxy.Start(cluster, new KafkaProxyOptions { AnswerTopicAdministration = true });

        await using var admin = new KafkaAdminClient(new KafkaAdminOptions { BootstrapServers = proxy.BootstrapServers });
        await admin.CreateTopicsAsync([new NewTopic("invoices", Partitions: 3)], cancellationToken: cancellationToken);
        var invoices = await admin.DescribeTopicsAsync(["invoices"], cancellationToken);
        await admin.DeleteTopicsAsync(["invoices"], cancellationToken);
        // end snippet

        Assert.Equal(3, Assert.Single(invoices).Partitions.Count);
    }

    [Fact(Timeout = 60_000)]
    public async Task Testing_fetches_on_arrival_reads_a_record_with_the_default_fetch_wait()
    {
        var cancellationToken = TestContext.Current.CancellationToken;

        // snippet: testing-fetches-on-arrival
        await using var cluster = EmbeddedKafkaCluster.Start();
        await using var proxy = KafkaProxy.Start(cluster, new KafkaProxyOptions { AnswerFetchesOnArrival = true });
        cluster.CreateTopic("events", partitions: 1, replicationFactor: 1);

        await using var consumer = new KafkaConsumer<byte[]?, byte[]?>(
            new KafkaConsumerOptions { BootstrapServers = proxy.BootstrapServers }, Deserializers.ByteArray, Deserializers.ByteArray);
        consumer.Assign([new TopicPartitionOffset("events", 0, OffsetSpec.Earliest)]);
        await using var producer = new KafkaProducer(new KafkaProducerOptions { BootstrapServers = proxy.BootstrapServers });
        await producer.ProduceAsync("events", key: null, value: "hello"u8.ToArray(), cancellationToken: cancellationToken);

        // The consumer's Fetch waits up to 500 ms (its default); the proxy answers it as soon as the record is in the log.
        string? received = null;
        await foreach (var record in consumer.ConsumeAsync(cancellationToken))
        {
            received = Encoding.UTF8.GetString(record.Value!);
            break;
        }
        // end snippet

        Assert.Equal("hello", received);
    }
}

// snippet: xunit-quickstart
public sealed class OrderTests(TestBrokerFixture fixture)
{
    [Fact]
    public async Task Orders_round_trip()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(brokers: 1, cancellationToken: ct);
        var topic = TestBrokerFixture.UniqueTopicName("orders");
        await broker.CreateTopicAsync(topic, partitions: 3, cancellationToken: ct);
        // produce and consume against broker.BootstrapServers
        Assert.StartsWith("orders-", topic, StringComparison.Ordinal); // (the test's own check)
    }
}
// end snippet
