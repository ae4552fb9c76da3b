using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Messaging.Rpc.Tests.Support;
using Messaging.Testing.Brokers;
using CK = Confluent.Kafka;

namespace Messaging.Rpc.Tests.Server;

/// <summary>
/// Peers written directly on Confluent.Kafka with Spring for Apache Kafka's request/reply headers
/// (<c>kafka_correlationId</c> as a UUID's 16 big-endian bytes, <c>kafka_replyTopic</c>, <c>kafka_replyPartition</c> as a
/// 4-byte big-endian int; a reply without a status header is a success) call our server and answer our client.
/// </summary>
public sealed class SpringInteropTests(TestBrokerFixture fixture)
{
    public sealed record Greeting(string Name);

    public sealed record Reply(string Text);

    [Fact(Timeout = 120_000)]
    public async Task A_confluent_requester_calls_our_server()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await ServerTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        await using var server = new RpcServer(ServerTestSupport.Options(broker.BootstrapServers, requests, ServerTestSupport.NewGroup(), "s"));
        server.Map<Greeting, Reply>("Greet", (greeting, _) => ValueTask.FromResult(new Reply("hello " + greeting.Name)));
        await server.StartAsync(ct);
        await ServerTestSupport.AssignedAsync(ct, server);

        using var producer = new CK.ProducerBuilder<byte[], byte[]>(new CK.ProducerConfig { BootstrapServers = broker.BootstrapServers, LingerMs = 0 }).Build();
        using var consumer = new CK.ConsumerBuilder<byte[], byte[]>(new CK.ConsumerConfig
        {
            BootstrapServers = broker.BootstrapServers,
            GroupId = "confluent-requester",
            EnableAutoCommit = false,
            FetchWaitMaxMs = 10,
        }).Build();
        consumer.Assign(new CK.TopicPartitionOffset(replies, 1, CK.Offset.Beginning));

        var ok = Guid.NewGuid();
        var unknown = Guid.NewGuid();
        await producer.ProduceAsync(requests, Request(ok, "Greet", """{"name":"spring"}"""u8.ToArray(), replies), ct);
        await producer.ProduceAsync(requests, Request(unknown, "Nope", "{}"u8.ToArray(), replies), ct);

        var received = new Dictionary<Guid, CK.ConsumeResult<byte[], byte[]>>();
        var end = DateTime.UtcNow.AddSeconds(30);
        while (received.Count < 2 && DateTime.UtcNow < end)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
            if (result?.Message is { } message && message.Headers.TryGetLastBytes("kafka_correlationId", out var id))
            {
                received[new Guid(id, bigEndian: true)] = result;
            }
        }

        var success = received[ok].Message;
        Assert.Equal("key-" + ok, Encoding.UTF8.GetString(success.Key));
        Assert.False(success.Headers.TryGetLastBytes("messaging_rpc_status", out var noStatus), "status " + noStatus?.Length); // no status: OK, as Spring reads it
        Assert.Equal("hello spring", JsonSerializer.Deserialize<Reply>(success.Value, JsonSerializerOptions.Web)!.Text);
        var failure = received[unknown].Message;
        Assert.True(failure.Headers.TryGetLastBytes("messaging_rpc_status", out var status));
        Assert.Equal((int)RpcStatus.Unimplemented, BinaryPrimitives.ReadInt32BigEndian(status));
    }

    [Fact(Timeout = 120_000)]
    public async Task A_confluent_replier_answers_our_client()
    {
        var ct = TestContext.Current.CancellationToken;
        var (broker, requests, replies) = await ServerTestSupport.BrokerAsync(fixture, ct);
        await using var _ = broker;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var replier = Task.Run(() => ReplyLikeSpring(broker.BootstrapServers, requests, stop.Token), ct);
        await using var client = new RpcClient(RpcTestSupport.Options(broker.BootstrapServers, replies));

        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            client.CallAsync<Greeting, Greeting>(requests, "Greet", new Greeting("n" + i), new RpcCallOptions { Timeout = TimeSpan.FromSeconds(30) }, ct).AsTask()));

        Assert.Equal(Enumerable.Range(0, 20).Select(i => "N" + i), answers.Select(a => a.Name));
        await stop.CancelAsync();
        await replier;
    }

    /// <summary>What a Spring <c>@KafkaListener</c> + <c>@SendTo</c> does: the reply goes to the request's reply topic and partition with its correlation ID.</summary>
    private static void ReplyLikeSpring(string bootstrap, string requests, CancellationToken stop)
    {
        using var producer = new CK.ProducerBuilder<byte[]?, byte[]>(new CK.ProducerConfig { BootstrapServers = bootstrap, LingerMs = 0 }).Build();
        using var consumer = new CK.ConsumerBuilder<byte[]?, byte[]>(new CK.ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = "confluent-replier",
            EnableAutoCommit = false,
            FetchWaitMaxMs = 10,
        }).Build();
        consumer.Assign(Enumerable.Range(0, ServerTestSupport.RequestPartitions).Select(p => new CK.TopicPartitionOffset(requests, p, CK.Offset.Beginning)));
        while (!stop.IsCancellationRequested)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(100));
            if (result?.Message is not { } request
                || !request.Headers.TryGetLastBytes("kafka_correlationId", out var id)
                || !request.Headers.TryGetLastBytes("kafka_replyTopic", out var topic))
            {
                continue;
            }

            var greeting = JsonSerializer.Deserialize<Greeting>(request.Value, JsonSerializerOptions.Web)!;
            var reply = new CK.Message<byte[]?, byte[]>
            {
                Key = request.Key,
                Value = JsonSerializer.SerializeToUtf8Bytes(new Greeting(greeting.Name.ToUpperInvariant()), JsonSerializerOptions.Web),
                Headers = new CK.Headers { { "kafka_correlationId", id } },
            };
            var partition = request.Headers.TryGetLastBytes("kafka_replyPartition", out var p) ? BinaryPrimitives.ReadInt32BigEndian(p) : 0;
            producer.Produce(new CK.TopicPartition(Encoding.UTF8.GetString(topic), partition), reply);
        }

        producer.Flush(TimeSpan.FromSeconds(5));
    }

    private static CK.Message<byte[], byte[]> Request(Guid id, string method, byte[] payload, string replyTopic)
    {
        var idBytes = new byte[16];
        id.TryWriteBytes(idBytes, bigEndian: true, out _);
        var partition = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(partition, 1);
        return new CK.Message<byte[], byte[]>
        {
            Key = Encoding.UTF8.GetBytes("key-" + id),
            Value = payload,
            Headers = new CK.Headers
            {
                { "kafka_correlationId", idBytes },
                { "kafka_replyTopic", Encoding.UTF8.GetBytes(replyTopic) },
                { "kafka_replyPartition", partition },
                { "messaging_rpc_method", Encoding.UTF8.GetBytes(method) },
            },
        };
    }
}
