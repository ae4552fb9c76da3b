using System.Reflection;
using Messaging.Testing;
using Messaging.Testing.Brokers;
using CK = Confluent.Kafka;

namespace Messaging.Rpc.Tests.Server;

/// <summary>
/// A periodic commit that listed a partition just before its revocation skips it, and must not record it as committed:
/// the revocation's own commit is then the one that covers its answered requests.
/// </summary>
public sealed class RevokedCommitTests(TestBrokerFixture fixture)
{
    [Fact(Timeout = 120_000)]
    public async Task A_partition_revoked_under_a_periodic_commit_is_committed_by_its_revocation_after_an_earlier_commit_failed()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var broker = await fixture.AcquireAsync(faultInjection: true, cancellationToken: ct);
        var cluster = (EmbeddedKafkaCluster)broker.Faults!;
        var requests = TestBrokerFixture.UniqueTopicName("rpc-requests");
        await broker.CreateTopicAsync(requests, 2, 1, ct);
        var group = ServerTestSupport.NewGroup();
        var options = ServerTestSupport.Options(broker.BootstrapServers, requests, group, "s");
        options = options.Copy(); // the server's own copy: the consumer's options with the group and the server's cluster, as the server uses them
        var harness = new DispatchHarness();
        await using var consumer = new KafkaConsumer(options.Consumer);
        var a = new TopicPartition(requests, 0);
        var b = new TopicPartition(requests, 1);
        consumer.Assign([new TopicPartitionOffset(a, OffsetSpec.Earliest), new TopicPartitionOffset(b, OffsetSpec.Earliest)]);
        var counters = new ServerCounters();
        var loop = new RequestLoop(options, consumer, harness.Reader, harness.Dispatcher, counters);
        await loop.OnPartitionsAssignedAsync([a, b], ct);
        var partitions = (Dictionary<TopicPartition, PartitionState>)typeof(RequestLoop)
            .GetField("_partitions", BindingFlags.NonPublic | BindingFlags.Instance)!.GetValue(loop)!;
        var stateA = partitions[a];
        var stateB = partitions[b];

        // A's request at offset 0 is answered; the commit that would cover it is refused.
        Answer(stateA, 0);
        cluster.PushRequestErrors(ApiKey.OffsetCommit, ErrorCode.GroupAuthorizationFailed);
        await loop.CommitAsync(ct);
        Assert.Equal(1, counters.CommitFailures);

        // A is revoked while a request of it still runs: the revocation waits for it before committing.
        stateA.Enter();
        var revoking = loop.OnPartitionsRevokedAsync([a], ct).AsTask();
        Assert.True(stateA.IsRevoked);

        // Meanwhile a periodic commit that listed A before the revocation goes ahead: it skips A, commits B.
        Answer(stateB, 0);
        var commitStates = typeof(RequestLoop).GetMethod("CommitStatesAsync", BindingFlags.NonPublic | BindingFlags.Instance)!;
        await (Task)commitStates.Invoke(loop, [new List<PartitionState> { stateA, stateB }, false, ct])!;
        Assert.Equal(1, counters.Commits);

        // The running request ends (unanswered): the revocation commits A's answered prefix.
        stateA.Exit();
        await revoking.WaitAsync(TimeSpan.FromSeconds(30), ct);

        using var reader = new CK.ConsumerBuilder<byte[], byte[]>(new CK.ConsumerConfig
        {
            BootstrapServers = broker.BootstrapServers,
            GroupId = group,
            EnableAutoCommit = false,
        }).Build();
        var committed = reader.Committed([new CK.TopicPartition(requests, 0), new CK.TopicPartition(requests, 1)], TimeSpan.FromSeconds(10));
        Assert.Equal(1, committed[1].Offset.Value);
        Assert.Equal(1, committed[0].Offset.Value); // the next owner does not run A's answered request again
    }

    private static void Answer(PartitionState state, long offset)
    {
        Assert.True(state.Tracker.TryRegister(offset, out var slot));
        OffsetTracker.Complete(slot);
    }
}
