using System.Reflection;
using Messaging.Testing.Brokers;
using CK = Confluent.Kafka;

namespace Messaging.Rpc.Tests.Server;

/// <summary>
/// A batch parked for a partition that was revoked and assigned back between the loop's lookup and its pause: the
/// pause lands on the new assignment, so dropping the stale batch must resume the partition.
/// </summary>
public sealed class ReassignedPauseTests(TestBrokerFixture fixture)
{
    [Fact(Timeout = 120_000)]
    public async Task Dropping_a_revoked_partitions_parked_batch_resumes_the_partition_assigned_back_meanwhile()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(cancellationToken: ct);
        var requests = TestBrokerFixture.UniqueTopicName("rpc-requests");
        await broker.CreateTopicAsync(requests, 1, 1, ct);
        using (var producer = new CK.ProducerBuilder<byte[]?, byte[]>(new CK.ProducerConfig { BootstrapServers = broker.BootstrapServers, LingerMs = 0 }).Build())
        {
            var headers = new CK.Headers { { "messaging_rpc_method", "Work"u8.ToArray() } };
            await producer.ProduceAsync(requests, new CK.Message<byte[]?, byte[]> { Value = [1], Headers = headers }, ct);
        }

        var options = ServerTestSupport.Options(broker.BootstrapServers, requests, ServerTestSupport.NewGroup(), "s");
        options = options.Copy(); // the server's own copy: the consumer's options with the group and the server's cluster, as the server uses them
        var harness = new DispatchHarness();
        await using var consumer = new KafkaConsumer(options.Consumer);
        var partition = new TopicPartition(requests, 0);
        consumer.Assign([new TopicPartitionOffset(partition, OffsetSpec.Earliest)]);
        using var batch = await consumer.ConsumeBatchAsync(ct);
        var loop = new RequestLoop(options, consumer, harness.Reader, harness.Dispatcher, new ServerCounters());
        await loop.OnPartitionsAssignedAsync([partition], ct);
        var partitions = (Dictionary<TopicPartition, PartitionState>)typeof(RequestLoop)
            .GetField("_partitions", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(loop)!;
        var looked = partitions[partition]; // the loop looked the batch's partition up ...

        // ... the group revoked it and assigned it back ...
        await loop.OnPartitionsRevokedAsync([partition], ct);
        await loop.OnPartitionsAssignedAsync([partition], ct);
        Assert.NotSame(looked, partitions[partition]);

        // ... and then the loop paused it (the pause lands on the new assignment) and parked the batch's rest.
        consumer.Pause([partition]);
        var parked = (List<ParkedBatch>)typeof(RequestLoop).GetField("_parked", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(loop)!;
        parked.Add(new ParkedBatch(looked, batch, 0));

        typeof(RequestLoop).GetMethod("RetryParked", BindingFlags.NonPublic | BindingFlags.Instance)!.Invoke(loop, null);

        Assert.Empty(parked);
        Assert.Empty(consumer.PausedPartitions); // the new assignment is fetched again
    }
}
