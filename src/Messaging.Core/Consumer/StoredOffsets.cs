using Messaging.Groups;

namespace Messaging.Consumer;

/// <summary>
/// The partitions a group member owns, the offsets it will commit next (stored, librdkafka's offset store) and the
/// last ones it committed, per partition, so a commit sends only what moved.
/// </summary>
/// <remarks>
/// One lock, taken once per store call (the ownership check and the store together) and per commit: with automatic
/// offset storing, the consumed positions are read from the fetcher's cursors once per commit
/// (<see cref="StorePositions"/>), not stored record by record.
/// </remarks>
internal sealed class StoredOffsets
{
    private readonly Lock _lock = new();
    private readonly Dictionary<TopicPartition, (long Offset, int LeaderEpoch, string? Metadata)> _stored = [];
    private readonly Dictionary<TopicPartition, long> _committed = [];
    private readonly HashSet<TopicPartition> _owned = [];

    /// <summary>The group assigned these partitions to the member (they can be stored from now on).</summary>
    public void Own(IEnumerable<TopicPartition> partitions)
    {
        lock (_lock)
        {
            _owned.UnionWith(partitions);
        }
    }

    /// <summary>The owned partitions are exactly these (a manual assignment); stored offsets are kept for the next commit.</summary>
    public void ReplaceOwned(IEnumerable<TopicPartition> partitions)
    {
        lock (_lock)
        {
            _owned.Clear();
            _owned.UnionWith(partitions);
        }
    }

    /// <summary>
    /// Stores the offset for a partition the member owns (its revocation callback included); false when it owns no such
    /// partition.
    /// </summary>
    public bool TryStoreOwned(TopicPartition partition, long offset)
    {
        lock (_lock)
        {
            if (!_owned.Contains(partition))
            {
                return false;
            }

            _stored[partition] = (offset, -1, null);
            return true;
        }
    }

    /// <summary>Stores the offset of the next record to read for <paramref name="partition"/> (replacing what was stored).</summary>
    public void Store(TopicPartition partition, long offset, string? metadata = null)
    {
        lock (_lock)
        {
            _stored[partition] = (offset, -1, metadata);
        }
    }

    /// <summary>
    /// Stores consumed positions (automatic offset store) of owned partitions, with the leader epoch of what was
    /// consumed before them (committed as the Java client commits it, KIP-320); unknown positions (-1) are skipped. A
    /// position read from the fetcher just before its partition was lost or revoked and forgotten is not stored again.
    /// </summary>
    public void StorePositions(IEnumerable<KeyValuePair<TopicPartition, ConsumedPosition>> positions)
    {
        lock (_lock)
        {
            foreach (var (partition, position) in positions)
            {
                if (position.Offset >= 0 && _owned.Contains(partition))
                {
                    _stored[partition] = (position.Offset, position.LeaderEpoch, null);
                }
            }
        }
    }

    /// <summary>Records what the coordinator has committed for a partition (fetched on assignment), so an unchanged position is not committed again.</summary>
    public void KnownCommitted(TopicPartition partition, long offset)
    {
        lock (_lock)
        {
            _committed[partition] = offset;
        }
    }

    /// <summary>The stored offsets that differ from the last committed ones, optionally only of <paramref name="only"/>.</summary>
    public List<OffsetToCommit> Pending(HashSet<TopicPartition>? only = null)
    {
        var pending = new List<OffsetToCommit>();
        lock (_lock)
        {
            foreach (var (partition, stored) in _stored)
            {
                if (only is not null && !only.Contains(partition))
                {
                    continue;
                }

                if (!_committed.TryGetValue(partition, out var committed) || committed != stored.Offset)
                {
                    pending.Add(new OffsetToCommit(partition, stored.Offset, stored.LeaderEpoch, stored.Metadata));
                }
            }
        }

        return pending;
    }

    /// <summary>The coordinator accepted <paramref name="offsets"/>.</summary>
    public void Committed(IReadOnlyList<OffsetToCommit> offsets)
    {
        lock (_lock)
        {
            foreach (var offset in offsets)
            {
                _committed[offset.Partition] = offset.Offset;
            }
        }
    }

    /// <summary>Forgets partitions this consumer no longer owns.</summary>
    public void Forget(IEnumerable<TopicPartition> partitions)
    {
        lock (_lock)
        {
            foreach (var partition in partitions)
            {
                _owned.Remove(partition);
                _stored.Remove(partition);
                _committed.Remove(partition);
            }
        }
    }

    /// <summary>Forgets every partition; returns those the member owned.</summary>
    public List<TopicPartition> Clear()
    {
        lock (_lock)
        {
            List<TopicPartition> owned = [.. _owned];
            _owned.Clear();
            _stored.Clear();
            _committed.Clear();
            return owned;
        }
    }
}
