using System.Diagnostics;
using Messaging.IntegrationTests.Support;

namespace Messaging.IntegrationTests.Groups;

/// <summary>
/// Incremental rebalancing (classic cooperative-sticky, KIP-848): a member joining takes partitions from the others
/// without stopping the ones that stay where they are.
/// </summary>
public sealed class IncrementalRebalanceTests
{
    private const string Topic = "events";
    private const int Partitions = 12;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(45);
    private static readonly TimeSpan ProduceInterval = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// The longest a partition that keeps its owner may go without a delivery while a member joins: 50 produce
    /// intervals (1 s). An eager rebalance stops every partition for the whole join (the members' next heartbeat,
    /// the join, the sync, fetching the committed offsets), which this catches; a partition that keeps being fetched
    /// delivers a record every produce interval.
    /// </summary>
    private static readonly TimeSpan MaxGap = ProduceInterval * 50;

    public static TheoryData<GroupProtocol, string> Protocols => new()
    {
        { GroupProtocol.Classic, "cooperative-sticky" },
        { GroupProtocol.Consumer, "" },
    };

    [Theory(Timeout = 120_000)]
    [MemberData(nameof(Protocols))]
    public async Task Partitions_that_keep_their_owner_are_consumed_without_a_gap_while_a_fourth_member_joins(GroupProtocol protocol, string assignor)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = SubscribeTests.StartCluster();
        var group = SubscribeTests.NewGroup();
        KafkaConsumerOptions Options() => SubscribeTests.GroupOptions(cluster.BootstrapServers, group, protocol, assignor);

        await using var a = new GroupReader("a", Options(), [Topic]);
        await using var b = new GroupReader("b", Options(), [Topic]);
        await using var c = new GroupReader("c", Options(), [Topic]);
        GroupReader[] three = [a, b, c];
        await Eventually.TrueAsync(() => SubscribeTests.Splits(three) && three.All(r => r.Owned.Count == 4), Deadline, "a, b, c owning 4 partitions each", ct);

        await using var producer = new SteadyProducer(cluster.BootstrapServers, Topic, Partitions, ProduceInterval);
        var started = Stopwatch.GetTimestamp();
        await Eventually.TrueAsync(() => DeliveringSince(started, three), Deadline, "every partition delivering", ct);

        var before = Owners(three);
        var joinedAt = Stopwatch.GetTimestamp();
        await using var d = new GroupReader("d", Options(), [Topic]);
        GroupReader[] four = [a, b, c, d];
        await Eventually.TrueAsync(() => SubscribeTests.Splits(four) && four.All(r => r.Owned.Count == 3) && four.All(r => r.Consumer.Assignment.Count == 3), Deadline, "four members owning 3 partitions each", ct);
        var settledAt = Stopwatch.GetTimestamp();
        await Eventually.TrueAsync(() => DeliveringSince(settledAt, four), Deadline, "every partition delivering after the join", ct);
        var endAt = Stopwatch.GetTimestamp();
        await producer.StopAsync();

        var after = Owners(four);
        var stayed = before.Where(kv => after[kv.Key] == kv.Value).Select(kv => kv.Key).ToList();
        // Cooperative-sticky: d takes one partition from each, the other nine stay. The embedded broker's KIP-848
        // assignor is not sticky (it moves about half), but some partitions always stay: those are checked.
        Assert.True(protocol == GroupProtocol.Classic ? stayed.Count == 9 : stayed.Count > 0, stayed.Count + " partitions stayed with their owner");
        Assert.Equal(3, d.Owned.Count);

        var gaps = new List<string>();
        var longest = TimeSpan.Zero;
        foreach (var partition in stayed)
        {
            var owner = after[partition];
            var times = owner.Deliveries.Where(x => x.Partition == partition && x.At >= joinedAt && x.At <= endAt).Select(x => x.At).ToList();
            var gap = LongestGap(joinedAt, times, endAt);
            longest = gap > longest ? gap : longest;
            if (gap > MaxGap)
            {
                gaps.Add(partition + " (" + owner.Name + "): " + gap.TotalMilliseconds.ToString("F0", System.Globalization.CultureInfo.InvariantCulture) + " ms");
            }
        }

        var joinTook = Stopwatch.GetElapsedTime(joinedAt, settledAt);
        Assert.True(gaps.Count == 0, "partitions that kept their owner stopped during the join (" + joinTook.TotalMilliseconds + " ms): " + string.Join(", ", gaps));
        Assert.All(four, r => Assert.Equal(0, r.DeliveredAfterRevocation));
        Assert.All(four, r => Assert.Null(r.Failure));
        TestContext.Current.SendDiagnosticMessage("{0}/{1}: join took {2:F0} ms, longest gap of a partition that stayed {3:F0} ms", protocol, assignor, joinTook.TotalMilliseconds, longest.TotalMilliseconds);
    }

    /// <summary>The longest time without a delivery in [from, to], counting from the window's ends.</summary>
    private static TimeSpan LongestGap(long from, List<long> times, long to)
    {
        var longest = TimeSpan.Zero;
        var previous = from;
        foreach (var at in times)
        {
            var gap = Stopwatch.GetElapsedTime(previous, at);
            longest = gap > longest ? gap : longest;
            previous = at;
        }

        var tail = Stopwatch.GetElapsedTime(previous, to);
        return tail > longest ? tail : longest;
    }

    private static bool DeliveringSince(long since, GroupReader[] readers)
    {
        var delivering = new HashSet<TopicPartition>();
        foreach (var reader in readers)
        {
            foreach (var (partition, at) in reader.LastDelivery)
            {
                if (at > since && reader.Owned.Contains(partition))
                {
                    delivering.Add(partition);
                }
            }
        }

        return delivering.Count == Partitions;
    }

    private static Dictionary<TopicPartition, GroupReader> Owners(GroupReader[] readers)
    {
        var owners = new Dictionary<TopicPartition, GroupReader>();
        foreach (var reader in readers)
        {
            foreach (var partition in reader.Owned)
            {
                owners.Add(partition, reader);
            }
        }

        Assert.Equal(Partitions, owners.Count);
        return owners;
    }
}
