using System.Collections.Concurrent;
using System.Reflection;
using Messaging.Rpc.Tests.Support;
using Messaging.Testing.Brokers;
using CK = Confluent.Kafka;

namespace Messaging.Rpc.Tests.Server;

/// <summary>
/// A batch the consumer returned before its partition was revoked, taken only after the partition was assigned back
/// (the server was full meanwhile): the new assignment starts from the group's commit, below that batch.
/// </summary>
public sealed class StaleBatchTests(TestBrokerFixture fixture)
{
    [Fact(Timeout = 120_000)]
    public async Task A_batch_from_before_the_partition_was_assigned_back_does_not_make_the_requests_below_it_be_dropped()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(cancellationToken: ct);
        var requests = TestBrokerFixture.UniqueTopicName("rpc-requests");
        await broker.CreateTopicAsync(requests, 1, 1, ct);
        using (var producer = new CK.ProducerBuilder<byte[]?, byte[]>(new CK.ProducerConfig { BootstrapServers = broker.BootstrapServers, LingerMs = 0 }).Build())
        {
            for (byte i = 0; i < 4; i++)
            {
                var headers = new CK.Headers { { "messaging_rpc_method", "Work"u8.ToArray() } }; // one-way
                await producer.ProduceAsync(requests, new CK.Message<byte[]?, byte[]> { Value = [i], Headers = headers }, ct);
            }
        }

        var options = ServerTestSupport.Options(broker.BootstrapServers, requests, ServerTestSupport.NewGroup(), "s");
        options = options.Copy(); // the server's own copy: the consumer's options with the group and the server's cluster, as the server uses them
        var harness = new DispatchHarness();
        var handled = new ConcurrentQueue<int>();
        harness.MapRaw("Work", (payload, _) =>
        {
            handled.Enqueue(payload.Span[0]);
            return ValueTask.FromResult(ReadOnlyMemory<byte>.Empty);
        });
        await using var consumer = new KafkaConsumer(options.Consumer);
        var partition = new TopicPartition(requests, 0);
        var loop = new RequestLoop(options, consumer, harness.Reader, harness.Dispatcher, new ServerCounters());
        var take = typeof(RequestLoop).GetMethod("Take", BindingFlags.NonPublic | BindingFlags.Instance)!;

        // The consumer returns a batch from offset 2 (where the partition's position was) ...
        consumer.Assign([new TopicPartitionOffset(partition, OffsetSpec.At(2))]);
        await loop.OnPartitionsAssignedAsync([partition], ct);
        var stale = await consumer.ConsumeBatchAsync(ct);
        Assert.Equal(2, stale.Records[0].Offset);

        // ... the partition is revoked (its commit, say, still at 0: the requests below 2 were not answered yet) and
        // assigned back; the new assignment starts from the group's committed offset, 0 ...
        await loop.OnPartitionsRevokedAsync([partition], ct);
        consumer.Seek(partition, OffsetSpec.At(0));
        await loop.OnPartitionsAssignedAsync([partition], ct);

        // ... and only now the server has room to take the batch returned before, then what the new assignment reads.
        take.Invoke(loop, [stale]);
        while (true)
        {
            var batch = await consumer.ConsumeBatchAsync(ct);
            var last = batch.Count > 0 ? batch.Records[^1].Offset : -1;
            take.Invoke(loop, [batch]);
            if (last >= 3)
            {
                break;
            }
        }
        await Conditions.WaitUntilAsync(() => loop.InFlight == 0 && handled.Count >= 2, TimeSpan.FromSeconds(30), "the requests taken finish", ct);

        // Every request of the new assignment is handled: none below the stale batch is dropped as delivered twice.
        Assert.Equal([0, 1, 2, 3], handled.Order().Distinct().ToArray());
    }
}
