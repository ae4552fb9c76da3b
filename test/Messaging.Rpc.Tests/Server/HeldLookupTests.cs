using System.Collections.Concurrent;
using Messaging.Rpc.Tests.Support;
using Messaging.Testing;
using Messaging.Testing.Brokers;
using CK = Confluent.Kafka;

namespace Messaging.Rpc.Tests.Server;

/// <summary>A partition held while the group's coordinator refuses to say where it starts: the server's other partitions go on meanwhile.</summary>
public sealed class HeldLookupTests(TestBrokerFixture fixture)
{
    [Fact(Timeout = 120_000)]
    public async Task Requests_on_other_partitions_are_handled_while_a_held_partitions_committed_offset_cannot_be_looked_up()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(faultInjection: true, cancellationToken: ct);
        var cluster = (EmbeddedKafkaCluster)broker.Faults!;
        var requests = TestBrokerFixture.UniqueTopicName("rpc-requests");
        await broker.CreateTopicAsync(requests, 2, 1, ct);
        var group = ServerTestSupport.NewGroup();
        var handled = new ConcurrentQueue<(string Server, int Value)>();
        RpcServer NewServer(string name)
        {
            var server = new RpcServer(ServerTestSupport.Options(broker.BootstrapServers, requests, group, name,
                o => o.Consumer.PartitionAssignmentStrategy = "cooperative-sticky")); // a partition added does not move the other
            server.MapRaw("Work", (payload, _) =>
            {
                handled.Enqueue((name, payload.Span[0]));
                return ValueTask.FromResult(ReadOnlyMemory<byte>.Empty);
            });
            return server;
        }

        using var producer = new CK.ProducerBuilder<byte[]?, byte[]>(new CK.ProducerConfig { BootstrapServers = broker.BootstrapServers, LingerMs = 0 }).Build();
        async Task SendAsync(int partition, byte value)
        {
            var headers = new CK.Headers { { "messaging_rpc_method", "Work"u8.ToArray() } }; // one-way
            await producer.ProduceAsync(new CK.TopicPartition(requests, partition), new CK.Message<byte[]?, byte[]> { Value = [value], Headers = headers }, ct);
        }

        await using var kept = NewServer("kept");
        var keptPartition = -1;
        var leaving = NewServer("leaving");
        try
        {
            await kept.StartAsync(ct);
            await leaving.StartAsync(ct);
            await Conditions.WaitUntilAsync(() => kept.Assignment.Count == 1 && leaving.Assignment.Count == 1, TimeSpan.FromSeconds(60),
                "each server owns one request partition", ct);
            keptPartition = kept.Assignment.Single().Partition;
            await SendAsync(0, 0);
            await SendAsync(1, 1);
            await Conditions.WaitUntilAsync(() => handled.Count == 2, TimeSpan.FromSeconds(60), "both servers handle a request", ct);

            // The coordinator stops answering where partitions start; the leaving server's partition moves to the kept one.
            var refusals = new ErrorCode[10_000];
            Array.Fill(refusals, ErrorCode.GroupAuthorizationFailed);
            cluster.PushRequestErrors(ApiKey.OffsetFetch, refusals);
        }
        finally
        {
            await leaving.DisposeAsync();
        }

        await Conditions.WaitUntilAsync(() => kept.Assignment.Count == 2, TimeSpan.FromSeconds(60), "the kept server owns both partitions", ct);
        var errors = kept.Statistics.ConsumeErrors;
        await Conditions.WaitUntilAsync(() => kept.Statistics.ConsumeErrors >= errors + 3, TimeSpan.FromSeconds(30),
            "the moved partition's start is asked for again and again", ct);

        // A request on the partition the kept server had all along is handled while the other is still held.
        await SendAsync(keptPartition, 2);
        try
        {
            await Conditions.WaitUntilAsync(() => handled.Count == 3, TimeSpan.FromSeconds(30), "the request on the kept partition is handled", ct);
        }
        finally
        {
            cluster.ClearRequestErrors(ApiKey.OffsetFetch);
        }

        Assert.Equal(("kept", 2), handled.Last());
    }
}
