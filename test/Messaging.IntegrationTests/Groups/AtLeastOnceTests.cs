using System.Collections.Concurrent;
using Messaging.IntegrationTests.Consumer;
using Messaging.IntegrationTests.Support;

namespace Messaging.IntegrationTests.Groups;

/// <summary>
/// At-least-once processing through rebalances, with the offsets stored only after a record was processed.
/// </summary>
public sealed class AtLeastOnceTests
{
    private const string Topic = "events";
    private const int Partitions = 12;
    private const int Total = 50_000;
    private const int Chunk = 2_000;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    public static TheoryData<GroupProtocol, string> Protocols => new()
    {
        { GroupProtocol.Classic, "range" },
        { GroupProtocol.Classic, "cooperative-sticky" },
        { GroupProtocol.Consumer, "" },
    };

    /// <summary>
    /// 50,000 records are produced in chunks while members join (c, then d) and leave (a by disposing, b by no longer
    /// reading past its max poll interval, so its partitions are lost without a commit). Each member processes a record,
    /// then stores its offset + 1 (<see cref="KafkaConsumerOptions.EnableAutoOffsetStore"/> off); auto-commit sends the
    /// stored offsets every 200 ms, on revocation and on close. A monitor reads the committed offsets about 50 times a
    /// second. The properties:
    /// <list type="number">
    /// <item>every record is processed at least once;</item>
    /// <item>no partition's committed offset is ever seen lower than before;</item>
    /// <item>a record processed again (any delivery of a (partition, offset) after its first) is at or above the
    /// committed offset the monitor saw last before that delivery: since committed offsets only move forward, that
    /// is a lower bound of the committed offset when the record was handed out again, so only uncommitted records
    /// are ever redelivered;</item>
    /// <item>once everything is processed, each partition's committed offset reaches its end: nothing processed stays uncommitted.</item>
    /// </list>
    /// </summary>
    [Theory(Timeout = 150_000)]
    [MemberData(nameof(Protocols))]
    public async Task Every_record_is_processed_at_least_once_and_only_uncommitted_records_are_processed_again(GroupProtocol protocol, string assignor)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = SubscribeTests.StartCluster();
        var group = SubscribeTests.NewGroup();
        var processed = new ConcurrentDictionary<(TopicPartition, long), byte>();

        KafkaConsumerOptions Options(TimeSpan? maxPoll = null) => SubscribeTests.GroupOptions(cluster.BootstrapServers, group, protocol, assignor, o =>
        {
            o.EnableAutoOffsetStore = false;
            if (maxPoll is { } interval)
            {
                o.MaxPollInterval = interval;
            }
        });

        ValueTask Process(GroupReader reader, ConsumeResult<byte[]?, byte[]?> record)
        {
            processed.TryAdd((record.TopicPartition, record.Offset), 0);
            try
            {
                reader.Consumer.StoreOffset(record.TopicPartition, record.Offset + 1);
            }
            catch (ArgumentException)
            {
                // Revoked while this record was processed: the offset is not this member's to store any more; the
                // new owner processes the record again (at least once).
            }

            return ValueTask.CompletedTask;
        }

        await using var monitor = new CommitMonitor(cluster.BootstrapServers, group, Topic, Partitions);
        var readers = new List<GroupReader>();
        GroupReader Join(string name, TimeSpan? maxPoll = null)
        {
            var reader = new GroupReader(name, Options(maxPoll), [Topic], Process);
            readers.Add(reader);
            return reader;
        }

        var produced = new long[Partitions];
        try
        {
            var a = Join("a");
            var b = Join("b", maxPoll: TimeSpan.FromSeconds(2));
            await GroupReader.WaitAsync(() => SubscribeTests.Splits(a, b), Deadline, "a and b splitting the topic", ct, [.. readers]);

            // The producer stays at most two chunks ahead of processing, so records keep arriving through every change.
            var producing = Task.Run(async () =>
            {
                for (var sent = 0; sent < Total; sent += Chunk)
                {
                    await GroupReader.WaitAsync(() => processed.Count >= sent - 2 * Chunk, Deadline, "processing keeping up with the producer (" + sent + " sent)", ct);
                    var byPartition = await ConsumerTestSupport.ProduceAsync(cluster.BootstrapServers, Topic, Partitions, Math.Min(Chunk, Total - sent), 16, cancellationToken: ct);
                    foreach (var (partition, records) in byPartition)
                    {
                        produced[partition] += records.Count;
                    }
                }
            }, ct);

            await GroupReader.WaitAsync(() => processed.Count >= 6_000, Deadline, "6,000 processed by a and b", ct, [.. readers]);
            var c = Join("c");
            await GroupReader.WaitAsync(() => c.Owned.Count > 0 && processed.Count >= 14_000, Deadline, "c joined and 14,000 processed", ct, [.. readers]);
            var d = Join("d");
            await GroupReader.WaitAsync(() => d.Owned.Count > 0 && processed.Count >= 22_000, Deadline, "d joined and 22,000 processed", ct, [.. readers]);

            await a.DisposeAsync(); // leaves: revoked, committed
            await GroupReader.WaitAsync(() => SubscribeTests.Splits(b, c, d) && processed.Count >= 30_000, Deadline, "b, c, d owning everything after a left, and 30,000 processed", ct, [.. readers]);

            await b.StopReadingAsync(); // hangs: after its max poll interval it leaves, its partitions lost, uncommitted records re-read by others
            await GroupReader.WaitAsync(() => b.Count("lost") > 0 && SubscribeTests.Splits(c, d), Deadline, "b leaving on its max poll interval and c, d owning everything", ct, [.. readers]);

            await producing.WaitAsync(Deadline, ct);
            await GroupReader.WaitAsync(() => processed.Count == Total, Deadline, "all 50,000 records processed (" + processed.Count + ")", ct, [.. readers]);

            // The automatic commits of the stable group bring every partition to its end. (Waiting here, not after the
            // closes: each close starts a rebalance, and librdkafka's mock refuses OffsetCommit during any rebalance —
            // Kafka takes a commit with the current generation while the group prepares one — so on the mock the last
            // member's closing commit can be refused.)
            await GroupReader.WaitAsync(() => monitor.Latest.Select((o, p) => o == produced[p]).All(x => x), Deadline,
                "the committed offsets reaching the end of every partition: " + string.Join(",", monitor.Latest) + " of " + string.Join(",", produced), ct);
        }
        finally
        {
            foreach (var reader in readers)
            {
                await reader.DisposeAsync(); // the last ones commit what they processed
            }
        }

        await monitor.StopAsync();

        Assert.Equal(Total, processed.Count);
        Assert.Empty(monitor.Backwards);
        Assert.All(readers, r => Assert.Null(r.Failure));
        Assert.All(readers, r => Assert.Equal(0, r.DeliveredAfterRevocation));

        var deliveries = readers.SelectMany(r => r.Deliveries.Select(x => (x.Partition, x.Offset, x.At, r.Name))).OrderBy(x => x.At).ToList();
        var first = new HashSet<(TopicPartition, long)>();
        var duplicates = 0;
        var violations = new List<string>();
        foreach (var (partition, offset, at, name) in deliveries)
        {
            if (first.Add((partition, offset)))
            {
                continue;
            }

            duplicates++;
            var committed = monitor.CommittedBefore(partition.Partition, at);
            if (offset < committed)
            {
                violations.Add(partition + "@" + offset + " again to " + name + " though " + committed + " was committed before");
            }
        }

        Assert.True(violations.Count == 0, violations.Count + " of " + duplicates + " redeliveries were of committed records: " + string.Join("; ", violations.Take(10)));
        Assert.True(monitor.Observations > 100, "the monitor saw the commits often enough: " + monitor.Observations);
        TestContext.Current.SendDiagnosticMessage("{0}/{1}: {2} redeliveries, {3} monitor observations", protocol, assignor, duplicates, monitor.Observations);
    }
}
