using System.Diagnostics;
using Messaging.IntegrationTests.Consumer;
using Messaging.IntegrationTests.Support;

namespace Messaging.IntegrationTests.Groups;

/// <summary>
/// Our consumer and a Confluent.Kafka (librdkafka) consumer in one classic group on the embedded cluster: they agree
/// on the assignor's protocol and encoding, split the partitions, both read, and each resumes exactly where the other
/// committed.
/// </summary>
public sealed class GroupInteropTests
{
    private const string Topic = "events";
    private const int Partitions = 12;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(45);

    public static TheoryData<string> Assignors => ["range", "cooperative-sticky"];

    [Theory(Timeout = 150_000)]
    [MemberData(nameof(Assignors))]
    public async Task Ours_and_librdkafka_split_a_group_and_each_resumes_at_the_offsets_the_other_committed(string assignor)
    {
        var ct = TestContext.Current.CancellationToken;
        var strategy = assignor == "range" ? Confluent.Kafka.PartitionAssignmentStrategy.Range : Confluent.Kafka.PartitionAssignmentStrategy.CooperativeSticky;
        await using var cluster = SubscribeTests.StartCluster();
        var group = SubscribeTests.NewGroup();
        KafkaConsumerOptions Ours() => SubscribeTests.GroupOptions(cluster.BootstrapServers, group, GroupProtocol.Classic, assignor, o => o.EnableAutoCommit = false);

        using var theirs = new ConfluentGroupMember(cluster.BootstrapServers, group, Topic, strategy);
        var ours = new GroupReader("ours", Ours(), [Topic]);
        var first = ours;
        try
        {
            // Both in the group before any record exists, so each reads only its own share of the first batch.
            await GroupReader.WaitAsync(() => Split(theirs, first), Deadline, "ours and librdkafka splitting the 12 partitions", ct, first);
            var oursOwned = ours.Consumer.Assignment.ToHashSet();
            await ConsumerTestSupport.ProduceAsync(cluster.BootstrapServers, Topic, Partitions, 1200, 20, cancellationToken: ct);
            await Eventually.TrueAsync(() => Union(theirs, ours) == 1200, Deadline, "every record of the first 1,200 read by one of the two", ct);
            Assert.NotEmpty(ours.Seen);
            Assert.NotEmpty(theirs.Deliveries);
            Assert.All(ours.Seen, s => Assert.Contains(s.Partition, oursOwned));
            Assert.All(theirs.Deliveries, d => Assert.DoesNotContain(d.Partition, oursOwned));

            // Ours commits what it read (100 records of each of its partitions) and leaves.
            await ours.StopReadingAsync();
            await ours.Consumer.CommitAsync(ct);
            var committed = await ours.Consumer.CommittedAsync(oursOwned, ct);
            Assert.All(committed, c => Assert.Equal(100, c.Offset));
            var left = Stopwatch.GetTimestamp();
            await ours.DisposeAsync();

            // librdkafka takes ours' partitions over and starts each at ours' commit: nothing re-read, nothing skipped.
            await ConsumerTestSupport.ProduceAsync(cluster.BootstrapServers, Topic, Partitions, 1200, 20, cancellationToken: ct);
            await Eventually.TrueAsync(() => theirs.Assignment.Count == Partitions && Union(theirs, ours) == 2400, Deadline, "librdkafka owning all 12 partitions and every record of 2,400 read", ct);
            foreach (var partition in oursOwned)
            {
                var after = theirs.Deliveries.Where(d => d.Partition == partition && d.At > left).Select(d => d.Offset).ToList();
                Assert.Equal(Enumerable.Range(100, 100).Select(o => (long)o), after);
            }

            // The reverse: librdkafka commits everything it read (200 a partition), a new consumer of ours joins and
            // starts its share at librdkafka's commit.
            await theirs.CommitAsync().WaitAsync(Deadline, ct);
            ours = new GroupReader("ours-2", Ours(), [Topic]);
            var second = ours;
            await GroupReader.WaitAsync(() => Split(theirs, second) && second.Consumer.Assignment.Count > 0, Deadline, "ours rejoining and librdkafka giving it a share", ct, second);
            var joined = Stopwatch.GetTimestamp();
            await ConsumerTestSupport.ProduceAsync(cluster.BootstrapServers, Topic, Partitions, 1200, 20, cancellationToken: ct);
            await Eventually.TrueAsync(() => Union(theirs, first, ours) == 3600, Deadline, "every record of 3,600 read", ct);
            var oursNow = ours.Consumer.Assignment;
            Assert.NotEmpty(oursNow);
            Assert.Contains(theirs.Deliveries, d => d.At > joined);
            foreach (var partition in oursNow)
            {
                var read = ours.Seen.Where(s => s.Partition == partition).Select(s => s.Offset).ToList();
                Assert.Equal(Enumerable.Range(200, 100).Select(o => (long)o), read);
            }

            Assert.Null(ours.Failure);
        }
        finally
        {
            await first.DisposeAsync();
            await ours.DisposeAsync();
        }
    }

    private static bool Split(ConfluentGroupMember theirs, GroupReader ours)
    {
        var seen = new HashSet<TopicPartition>();
        var theirCount = 0;
        foreach (var partition in theirs.Assignment)
        {
            theirCount++;
            if (!seen.Add(partition))
            {
                return false;
            }
        }

        var ourCount = 0;
        foreach (var partition in ours.Consumer.Assignment)
        {
            ourCount++;
            if (!seen.Add(partition))
            {
                return false;
            }
        }

        return seen.Count == Partitions && theirCount > 0 && ourCount > 0;
    }

    private static int Union(ConfluentGroupMember theirs, params GroupReader[] ours)
    {
        var seen = new HashSet<(TopicPartition, long)>();
        foreach (var reader in ours)
        {
            seen.UnionWith(reader.Seen);
        }

        foreach (var d in theirs.Deliveries)
        {
            seen.Add((d.Partition, d.Offset));
        }

        return seen.Count;
    }
}
