using Messaging.IntegrationTests.Support;

namespace Messaging.IntegrationTests.Groups;

/// <summary>
/// Static membership (KIP-345) through <see cref="KafkaConsumer"/> with the KIP-848 protocol on the embedded cluster:
/// a member with a <c>GroupInstanceId</c> that closes (leaving with epoch -2) and comes back within the session timeout
/// gets its partitions back with no rebalance of the others; without an instance id the same restart moves partitions.
/// </summary>
/// <remarks>
/// The classic protocol's static restart is tested at the membership level against the fake coordinator
/// (<see cref="ClassicFakeCoordinatorTests"/>): librdkafka's mock finds classic members by member id only.
/// </remarks>
public sealed class StaticMembershipTests
{
    private const string Topic = "events";
    private const int Partitions = 12;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private static KafkaConsumerOptions Options(string bootstrap, string group, string? instance) =>
        SubscribeTests.GroupOptions(bootstrap, group, GroupProtocol.Consumer, "", o => o.GroupInstanceId = instance);

    /// <summary>
    /// Starts member a (static when <paramref name="aInstance"/> is set) and dynamic member b and waits until each owns
    /// and fetches six partitions. The caller disposes both (a is disposed here if they never settle).
    /// </summary>
    private static async Task<(GroupReader A, GroupReader B)> SplitAsync(string bootstrap, string group, string? aInstance, CancellationToken ct)
    {
        var a = new GroupReader("a", Options(bootstrap, group, aInstance), [Topic]);
        var b = new GroupReader("b", Options(bootstrap, group, instance: null), [Topic]);
        try
        {
            await GroupReader.WaitAsync(() => SettledSplit(a, b), Deadline, "a and b owning six partitions each", ct, a, b);
            return (a, b);
        }
        catch
        {
            await a.DisposeAsync();
            await b.DisposeAsync();
            throw;
        }
    }

    private static bool SettledSplit(GroupReader a, GroupReader b) =>
        a.Owned.Count == Partitions / 2 && b.Owned.Count == Partitions / 2 && !a.Owned.Intersect(b.Owned).Any()
        && a.Consumer.Assignment.Count == Partitions / 2 && b.Consumer.Assignment.Count == Partitions / 2;

    [Fact(Timeout = 180_000)]
    public async Task A_static_member_restarted_within_the_session_timeout_gets_its_partitions_back_and_the_others_see_no_rebalance()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = SubscribeTests.StartCluster();
        var group = SubscribeTests.NewGroup();
        var (a, b) = await SplitAsync(cluster.BootstrapServers, group, "instance-a", ct);
        await using var _ = b;

        var before = a.Owned.OrderBy(p => p.Partition).ToArray();
        var othersBefore = b.Owned.OrderBy(p => p.Partition).ToArray();
        var othersEvents = b.Events.Count;
        var aMember = a.Consumer.MemberId;
        await a.DisposeAsync(); // a static member leaves with epoch -2: the broker keeps its place

        await using var restarted = new GroupReader("a-restarted", Options(cluster.BootstrapServers, group, "instance-a"), [Topic]);
        await GroupReader.WaitAsync(() => restarted.Owned.Count == before.Length && restarted.Consumer.Assignment.Count == before.Length, Deadline,
            "the restarted static member owning its six partitions", ct, restarted, b);

        Assert.Equal(before, restarted.Owned.OrderBy(p => p.Partition).ToArray());
        Assert.NotEqual(aMember, restarted.Consumer.MemberId); // a new process, a new member id, the same place in the group
        Assert.Equal(othersBefore, b.Owned.OrderBy(p => p.Partition).ToArray());
        Assert.Equal(othersEvents, b.Events.Count); // no callback at all on the other member: nothing was revoked or assigned
        Assert.Null(b.Failure);
    }

    [Fact(Timeout = 180_000)]
    public async Task Without_an_instance_id_the_same_restart_moves_the_partitions()
    {
        // The counter-check of the test above: it would see a rebalance if there were one.
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = SubscribeTests.StartCluster();
        var group = SubscribeTests.NewGroup();
        var (a, b) = await SplitAsync(cluster.BootstrapServers, group, aInstance: null, ct);
        await using var _ = b;

        var othersEvents = b.Events.Count;
        await a.DisposeAsync(); // a dynamic member leaves with epoch -1: its partitions go to the others

        await GroupReader.WaitAsync(() => b.Owned.Count == Partitions, Deadline, "b taking over every partition", ct, b);
        Assert.True(b.Events.Count > othersEvents, "the other member's listener was told of the move");
    }
}
