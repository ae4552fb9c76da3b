using Messaging.Rpc.Tests.Support;
using Messaging.Testing;
using Messaging.Testing.Brokers;
using CK = Confluent.Kafka;

namespace Messaging.Rpc.Tests.Server;

/// <summary>A partition the consumer holds after a fetch error: the server fetches the record the error names again, it does not skip it.</summary>
public sealed class HeldFetchTests(TestBrokerFixture fixture)
{
    [Fact(Timeout = 120_000)]
    public async Task Requests_at_a_held_fetch_are_handled_once_fetching_works_again_not_skipped()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(faultInjection: true, cancellationToken: ct);
        var cluster = (EmbeddedKafkaCluster)broker.Faults!;
        var requests = TestBrokerFixture.UniqueTopicName("rpc-requests");
        await broker.CreateTopicAsync(requests, 1, 1, ct);

        // The broker a new connection meets cannot serve Fetch at a version we speak: the consumer holds the
        // partition with a broker error at its position, again after every seek, until a connection can fetch.
        cluster.SetApiVersionRange(ApiKey.Fetch, 0, 11);
        var handled = new System.Collections.Concurrent.ConcurrentQueue<int>();
        await using var server = new RpcServer(ServerTestSupport.Options(broker.BootstrapServers, requests, ServerTestSupport.NewGroup(), "s",
            o => o.Consumer.AutoOffsetReset = AutoOffsetReset.Latest));
        server.MapRaw("Work", (payload, _) =>
        {
            handled.Enqueue(payload.Span[0]);
            return ValueTask.FromResult(ReadOnlyMemory<byte>.Empty);
        });
        await server.StartAsync(ct);
        await Conditions.WaitUntilAsync(() => server.Statistics.ConsumeErrors >= 1, TimeSpan.FromSeconds(60), "the held partition's error reaches the server", ct);

        // Three one-way requests at offsets 0, 1, 2, while the partition stays held.
        using (var producer = new CK.ProducerBuilder<byte[]?, byte[]>(new CK.ProducerConfig { BootstrapServers = broker.BootstrapServers, LingerMs = 0 }).Build())
        {
            for (byte i = 0; i < 3; i++)
            {
                var headers = new CK.Headers { { "messaging_rpc_method", "Work"u8.ToArray() } };
                await producer.ProduceAsync(requests, new CK.Message<byte[]?, byte[]> { Value = [i], Headers = headers }, ct);
            }
        }

        var errors = server.Statistics.ConsumeErrors;
        await Conditions.WaitUntilAsync(() => server.Statistics.ConsumeErrors >= errors + 5, TimeSpan.FromSeconds(30), "the error comes back after the server moved on", ct);

        // Fetching works again on a new connection.
        cluster.SetApiVersionRange(ApiKey.Fetch, 0, 16);
        cluster.SetBrokerDown(1);
        cluster.SetBrokerUp(1);
        await Conditions.WaitUntilAsync(() => handled.Count >= 3, TimeSpan.FromSeconds(60), "the three requests are handled", ct);

        // Each handled once (handlers run concurrently, so in any order); none skipped.
        var seen = handled.ToArray();
        Array.Sort(seen);
        Assert.Equal([0, 1, 2], seen);
    }
}
