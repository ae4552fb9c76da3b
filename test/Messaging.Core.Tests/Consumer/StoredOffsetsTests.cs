using Messaging.Consumer;

namespace Messaging.Core.Tests.Consumer;

/// <summary>The offset store: a commit sends only what moved since the last one, and forgotten partitions are never sent.</summary>
public sealed class StoredOffsetsTests
{
    private static readonly TopicPartition P0 = new("t", 0);
    private static readonly TopicPartition P1 = new("t", 1);

    [Fact]
    public void Only_offsets_that_moved_since_the_last_commit_are_pending()
    {
        var store = new StoredOffsets();
        store.Own([P0, P1, new TopicPartition("t", 2)]);
        store.KnownCommitted(P0, 10);
        store.StorePositions([new(P0, new(10, 3)), new(P1, new(5, 4)), new(new TopicPartition("t", 2), new(-1, -1))]);
        Assert.Equal([(P1, 5L, 4)], store.Pending().Select(o => (o.Partition, o.Offset, o.LeaderEpoch))); // P0 unchanged, P2 unknown; with the consumed epoch

        var pending = store.Pending();
        store.Committed(pending);
        Assert.Empty(store.Pending());

        store.Store(P0, 12, "meta");
        var next = Assert.Single(store.Pending());
        Assert.Equal((P0, 12L, "meta"), (next.Partition, next.Offset, next.Metadata));
    }

    [Fact]
    public void Pending_can_be_limited_to_some_partitions_and_forgotten_ones_are_gone()
    {
        var store = new StoredOffsets();
        store.Store(P0, 1);
        store.Store(P1, 2);
        Assert.Equal([P1], store.Pending([P1]).Select(o => o.Partition));

        store.Forget([P1]);
        Assert.Equal([P0], store.Pending().Select(o => o.Partition));
        store.Clear();
        Assert.Empty(store.Pending());
    }

    [Fact]
    public void Positions_read_before_a_partition_was_lost_do_not_store_it_again()
    {
        var store = new StoredOffsets();
        store.Own([P0, P1]);
        List<KeyValuePair<TopicPartition, ConsumedPosition>> positions = [new(P0, new(7, -1)), new(P1, new(3, -1))]; // a commit reads the fetcher's positions...
        store.Forget([P1]); // ...the member loses P1 (another member may own it now)...
        store.StorePositions(positions); // ...and the commit stores what it read

        Assert.Equal([P0], store.Pending().Select(o => o.Partition)); // no later commit sends P1
    }

    [Fact]
    public void Only_owned_partitions_can_be_stored_and_clearing_returns_them()
    {
        var store = new StoredOffsets();
        Assert.False(store.TryStoreOwned(P0, 5));
        store.Own([P0, P1]);
        Assert.True(store.TryStoreOwned(P0, 5));
        Assert.Equal([(P0, 5L)], store.Pending().Select(o => (o.Partition, o.Offset)));

        store.Forget([P0]);
        Assert.False(store.TryStoreOwned(P0, 6));
        Assert.Equal([P1], store.Clear());
        Assert.False(store.TryStoreOwned(P1, 1));
    }
}
