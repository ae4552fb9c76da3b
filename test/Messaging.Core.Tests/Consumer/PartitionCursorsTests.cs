using Messaging.Consumer;

namespace Messaging.Core.Tests.Consumer;

/// <summary>The assignment's cursors: what a new assignment, an added or a removed partition does to data fetched before.</summary>
public sealed class PartitionCursorsTests
{
    private static readonly TopicPartition P0 = new("t", 0);
    private static readonly TopicPartition P1 = new("t", 1);

    private static bool IsCurrent(FetchTarget target) => target.Cursor.Generation == target.Generation && target.Cursor.State != CursorState.Removed;

    private static List<FetchTarget> Fetchable(PartitionCursors cursors)
    {
        foreach (var cursor in cursors.All)
        {
            cursor.Leader = 1;
        }

        var targets = new List<FetchTarget>();
        cursors.CollectTargets(1, targets, now: 0);
        return targets;
    }

    [Fact]
    public void Assigning_a_partition_again_retires_what_its_old_cursor_fetched()
    {
        var cursors = new PartitionCursors();
        cursors.Assign([new TopicPartitionOffset(P0, OffsetSpec.At(100)), new TopicPartitionOffset(P1, OffsetSpec.At(5))]);
        var before = Fetchable(cursors);
        Assert.Equal(2, before.Count);

        cursors.Assign([new TopicPartitionOffset(P0, OffsetSpec.At(0))]);

        Assert.All(before, target => Assert.False(IsCurrent(target), target.Cursor.TopicPartition + " fetched before the new assignment still passes as current"));
        Assert.Equal(0, cursors.Position(P0));
    }

    [Fact]
    public void Adding_keeps_an_assigned_cursor_and_removing_retires_it_and_reports_its_position()
    {
        var cursors = new PartitionCursors();
        cursors.Add([new TopicPartitionOffset(P0, OffsetSpec.At(7))], awaitingStart: true);
        Assert.Empty(Fetchable(cursors)); // awaiting its assignment callback
        cursors.Release([P0]);
        var fetched = Assert.Single(Fetchable(cursors));

        cursors.Add([new TopicPartitionOffset(P0, OffsetSpec.At(0))], awaitingStart: false);
        Assert.True(IsCurrent(fetched)); // already assigned: kept as it was
        Assert.Equal(7, cursors.Position(P0));

        var positions = cursors.Remove([P0]);
        Assert.Equal(7, positions[P0].Offset);
        Assert.False(IsCurrent(fetched));
        Assert.DoesNotContain(P0, cursors.Assignment());
    }

    [Fact]
    public void A_start_at_a_committed_offset_is_fetched_with_the_committed_leader_epoch_until_a_seek()
    {
        var cursors = new PartitionCursors();
        cursors.Add([new TopicPartitionOffset(P0, OffsetSpec.At(7)), new TopicPartitionOffset(P1, OffsetSpec.Earliest)], awaitingStart: false,
            new Dictionary<TopicPartition, int> { [P0] = 4, [P1] = 4 });
        var target = Assert.Single(Fetchable(cursors)); // P1 waits for its lookup
        Assert.Equal(7, target.FetchOffset);
        Assert.Equal(4, target.LastFetchedEpoch);
        Assert.Equal(-1, cursors.All.Single(c => c.TopicPartition == P1).LastFetchedEpoch);

        cursors.RetryAt([target], 0);
        cursors.Seek(P0, OffsetSpec.At(7));
        Assert.Equal(-1, Assert.Single(Fetchable(cursors)).LastFetchedEpoch);
    }
}
