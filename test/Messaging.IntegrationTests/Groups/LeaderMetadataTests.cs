using Messaging.IntegrationTests.Consumer;
using Messaging.IntegrationTests.Support;

namespace Messaging.IntegrationTests.Groups;

/// <summary>
/// A classic leader watches the metadata of every member's topics while it leads, and rejoins when a partition count
/// changes since its last assignment. Members with other topics joining and leaving change the topics it watches:
/// that must never read as a partition-count change (a topic it stopped watching has no metadata, not 0 partitions).
/// </summary>
public sealed class LeaderMetadataTests
{
    private const string Topic = "events";
    private const string OtherTopic = "other";
    private const int Partitions = 12; // of the topic SubscribeTests.StartCluster makes
    private const int Cycles = 2;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(45);

    [Fact(Timeout = 240_000)]
    public async Task A_leader_whose_members_topics_change_rejoins_for_no_partition_change_and_stops_watching_topics_no_member_has()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = SubscribeTests.StartCluster();
        cluster.CreateTopic(OtherTopic, 3, replicationFactor: 3);
        var group = SubscribeTests.NewGroup();
        var log = new CollectingLogger();

        // Checks the metadata every 20 ms, so a check falls between the member set's change and the leader's new counts.
        // A 3 s session: the embedded coordinator waits a second less than the session for members to rejoin.
        await using var leader = new GroupReader("leader", SubscribeTests.GroupOptions(cluster.BootstrapServers, group, configure: o =>
        {
            o.LoggerFactory = log;
            o.MetadataMaxAge = TimeSpan.FromMilliseconds(20);
            o.SessionTimeout = TimeSpan.FromSeconds(3);
        }), [Topic]);
        await Eventually.TrueAsync(() => leader.Consumer.Assignment.Count == Partitions, Deadline, "the leader owning all 12 partitions of its topic", ct);
        var metadata = leader.Consumer.Consumer.Cluster.Metadata;

        for (var cycle = 0; cycle < Cycles; cycle++)
        {
            // A member of another topic joins (the leader joined first and leads: the embedded coordinator elects the
            // first member), so the leader assigns and watches both topics; then it leaves.
            var other = new GroupReader("other-" + cycle, SubscribeTests.GroupOptions(cluster.BootstrapServers, group, configure: o => o.SessionTimeout = TimeSpan.FromSeconds(3)), [OtherTopic]);
            try
            {
                await Eventually.TrueAsync(() => other.Consumer.Assignment.Count == 3 && leader.Consumer.Assignment.Count == Partitions,
                    Deadline, "the leader assigning the other member its topic", ct);
                Assert.True(leader.Consumer.Consumer.Group!.ClassicMember!.IsLeader, "the first member leads");
                Assert.True(metadata.Current.Topics.ContainsKey(OtherTopic), "the leader watches its members' topics");
            }
            finally
            {
                await other.DisposeAsync();
            }

            await Eventually.TrueAsync(() => !metadata.Current.Topics.ContainsKey(OtherTopic) && leader.Consumer.Consumer.Group!.ClassicMember!.StableGeneration is not null
                && leader.Consumer.Assignment.Count == Partitions, Deadline, "the leader alone again, no longer watching the other topic", ct);
        }

        // Some more checks of the leader alone, then: no rejoin for a partition count in the whole run.
        var requests = metadata.RequestsSent;
        await Eventually.TrueAsync(() => metadata.RequestsSent >= requests + 20, Deadline, "20 more metadata checks", ct);
        var rejoins = log.Lines.Where(line => line.Contains("partitions now", StringComparison.Ordinal)).ToList();
        Assert.True(rejoins.Count == 0, "rejoins for a partition count that did not change:" + Environment.NewLine + string.Join(Environment.NewLine, rejoins));
        Assert.Null(leader.Failure);
    }
}
