namespace Messaging.Consumer;

/// <summary>
/// The assigned partitions' cursors and the one lock that guards their fetch state: what the application changes
/// (assign, seek, pause, resume, hold) and what the broker fetchers take from them (the partitions a broker may
/// fetch now).
/// </summary>
/// <remarks>
/// <see cref="Sync"/> is taken per request, per response and per application call, never per record. The response
/// handler and the maintenance loop change cursors under it too; whoever queues data or errors for a partition does
/// so under it, which keeps a partition's entries in fetch order.
/// </remarks>
internal sealed class PartitionCursors
{
    private readonly Dictionary<TopicPartition, PartitionCursor> _cursors = [];
    private PartitionCursor[] _all = [];

    /// <summary>Guards every cursor's fetch state.</summary>
    public Lock Sync { get; } = new();

    /// <summary>Every assigned cursor (a snapshot array; read its cursors' state under <see cref="Sync"/>).</summary>
    public PartitionCursor[] All => _all;

    /// <summary>Replaces the assignment; every partition starts where its entry says. Returns the topics assigned.</summary>
    public HashSet<string> Assign(IEnumerable<TopicPartitionOffset> partitions)
    {
        var topics = new HashSet<string>(StringComparer.Ordinal);
        lock (Sync)
        {
            var next = new Dictionary<TopicPartition, OffsetSpec>();
            foreach (var entry in partitions)
            {
                ArgumentException.ThrowIfNullOrEmpty(entry.TopicPartition.Topic, nameof(partitions));
                ArgumentOutOfRangeException.ThrowIfNegative(entry.TopicPartition.Partition, nameof(partitions));
                next[entry.TopicPartition] = entry.Start;
                topics.Add(entry.TopicPartition.Topic);
            }

            // Every old cursor is retired, also of a partition assigned again: it gets a new cursor below, and data
            // fetched (or a fetch in flight) for the old one must not pass as current.
            foreach (var cursor in _cursors.Values)
            {
                cursor.State = CursorState.Removed;
                cursor.BumpGeneration();
            }

            _cursors.Clear();
            foreach (var (key, start) in next)
            {
                var cursor = new PartitionCursor(key);
                ApplyStart(cursor, start);
                _cursors[key] = cursor;
            }

            _all = [.. _cursors.Values];
        }

        return topics;
    }

    /// <summary>
    /// Adds partitions to the assignment (a group's incremental assignment); partitions already assigned keep their
    /// cursor and position. A start offset with an entry in <paramref name="committedEpochs"/> (the leader epoch a group
    /// committed with it) is fetched with that last fetched epoch. Returns the topics added.
    /// </summary>
    public HashSet<string> Add(IEnumerable<TopicPartitionOffset> partitions, bool awaitingStart, IReadOnlyDictionary<TopicPartition, int>? committedEpochs = null)
    {
        var topics = new HashSet<string>(StringComparer.Ordinal);
        lock (Sync)
        {
            foreach (var entry in partitions)
            {
                if (!_cursors.ContainsKey(entry.TopicPartition))
                {
                    var cursor = new PartitionCursor(entry.TopicPartition) { AwaitingStart = awaitingStart };
                    ApplyStart(cursor, entry.Start);
                    if (entry.Start.IsOffset && committedEpochs is not null && committedEpochs.TryGetValue(entry.TopicPartition, out int epoch))
                    {
                        cursor.LastFetchedEpoch = epoch;
                    }

                    _cursors[entry.TopicPartition] = cursor;
                    topics.Add(entry.TopicPartition.Topic);
                }
            }

            _all = [.. _cursors.Values];
        }

        return topics;
    }

    /// <summary>Lets partitions added with <c>awaitingStart</c> be fetched (their assignment callback has run).</summary>
    public void Release(IEnumerable<TopicPartition> partitions)
    {
        lock (Sync)
        {
            foreach (var partition in partitions)
            {
                if (_cursors.TryGetValue(partition, out var cursor))
                {
                    cursor.AwaitingStart = false;
                }
            }
        }
    }

    /// <summary>
    /// Adds a partition held at no position, for an error the application must see before anything of it (no committed
    /// offset and <c>auto.offset.reset</c> is error). Returns its cursor and generation to queue the error with.
    /// </summary>
    public (PartitionCursor Cursor, CursorGeneration Generation) AddHeld(TopicPartition partition, ConsumeException error)
    {
        lock (Sync)
        {
            if (!_cursors.TryGetValue(partition, out var cursor))
            {
                cursor = new PartitionCursor(partition);
                _cursors[partition] = cursor;
                _all = [.. _cursors.Values];
            }

            cursor.BumpGeneration();
            cursor.State = CursorState.Held;
            cursor.FetchOffset = -1;
            cursor.LastFetchedEpoch = -1;
            cursor.Position = -1;
            cursor.HoldQueued = true;
            cursor.HoldReturnsTo = CursorState.Held; // a pause keeps it held: Resume queues the error again
            cursor.HeldError = error;
            return (cursor, cursor.Generation);
        }
    }

    /// <summary>
    /// Removes partitions from the assignment (revoked or lost): nothing more of them is delivered once this returns
    /// (their generation is retired, so buffered data is dropped when taken). Returns each removed partition's position
    /// (-1 where unknown) with its leader epoch.
    /// </summary>
    public Dictionary<TopicPartition, ConsumedPosition> Remove(IEnumerable<TopicPartition> partitions)
    {
        var positions = new Dictionary<TopicPartition, ConsumedPosition>();
        lock (Sync)
        {
            foreach (var partition in partitions)
            {
                if (_cursors.Remove(partition, out var cursor))
                {
                    cursor.State = CursorState.Removed;
                    cursor.BumpGeneration();
                    positions[partition] = ConsumedPosition.Of(cursor.Generation);
                }
            }

            _all = [.. _cursors.Values];
        }

        return positions;
    }

    /// <summary>Every assigned partition's position (the offset of the next record for the application) with its leader epoch, where known.</summary>
    public List<KeyValuePair<TopicPartition, ConsumedPosition>> Positions()
    {
        lock (Sync)
        {
            var positions = new List<KeyValuePair<TopicPartition, ConsumedPosition>>(_all.Length);
            foreach (var cursor in _all)
            {
                var position = ConsumedPosition.Of(cursor.Generation);
                if (position.Offset >= 0)
                {
                    positions.Add(new KeyValuePair<TopicPartition, ConsumedPosition>(cursor.TopicPartition, position));
                }
            }

            return positions;
        }
    }

    /// <summary>The assigned partitions.</summary>
    public IReadOnlyList<TopicPartition> Assignment()
    {
        lock (Sync)
        {
            return [.. _cursors.Keys];
        }
    }

    /// <summary>Moves a partition's position; buffered data for it is dropped. A held partition resumes.</summary>
    public void Seek(TopicPartition partition, OffsetSpec start)
    {
        lock (Sync)
        {
            var cursor = Cursor(partition);
            cursor.BumpGeneration();
            ApplyStart(cursor, start);
        }
    }

    public void Pause(IEnumerable<TopicPartition> partitions)
    {
        lock (Sync)
        {
            foreach (var cursor in Cursors(partitions))
            {
                if (!cursor.Paused)
                {
                    // Drop what was fetched ahead: nothing more of the partition is delivered while paused.
                    cursor.Paused = true;
                    if (cursor.State == CursorState.Held && cursor.HoldQueued)
                    {
                        // The hold's queued reason is dropped below: on resume, fetch again or look the start up again
                        // (where a lasting failure is met and reported again), or queue the error again (HeldError).
                        cursor.State = cursor.HoldReturnsTo;
                    }

                    cursor.BumpGeneration();
                    if (cursor.State == CursorState.Fetching && cursor.Position >= 0)
                    {
                        cursor.FetchOffset = cursor.Position;
                    }
                }
            }
        }
    }

    /// <summary>
    /// Resumes partitions. A partition added held whose error a pause dropped gets it queued in <paramref name="buffer"/>
    /// again (under the lock, so in the partition's order).
    /// </summary>
    public void Resume(IEnumerable<TopicPartition> partitions, FetchBuffer buffer)
    {
        lock (Sync)
        {
            foreach (var cursor in Cursors(partitions))
            {
                if (cursor.Paused && cursor.State == CursorState.Held && !cursor.HoldQueued && cursor.HeldError is { } error)
                {
                    cursor.HoldQueued = true;
                    cursor.HoldReturnsTo = CursorState.Held;
                    buffer.EnqueueError(cursor, cursor.Generation, error);
                }

                cursor.Paused = false;
            }
        }
    }

    public IReadOnlyList<TopicPartition> Paused()
    {
        lock (Sync)
        {
            var paused = new List<TopicPartition>();
            foreach (var cursor in _all)
            {
                if (cursor.Paused)
                {
                    paused.Add(cursor.TopicPartition);
                }
            }

            return paused;
        }
    }

    /// <summary>The next offset the application will get for <paramref name="partition"/>, or null while the start position is being looked up.</summary>
    public long? Position(TopicPartition partition)
    {
        lock (Sync)
        {
            var position = Cursor(partition).Position;
            return position >= 0 ? position : null;
        }
    }

    /// <summary>The partition's high watermark as of the last Fetch, or null before one.</summary>
    public long? HighWatermark(TopicPartition partition)
    {
        lock (Sync)
        {
            var value = Cursor(partition).HighWatermark;
            return value >= 0 ? value : null;
        }
    }

    /// <summary>
    /// Stops a partition at <paramref name="offset"/> after an error the application must see: buffered data is
    /// dropped, the position stays at the offset, and nothing more is fetched until a seek or assign. Nothing
    /// happens when the partition moved on meanwhile (another generation, or unassigned).
    /// </summary>
    public void Hold(PartitionCursor cursor, CursorGeneration generation, long offset)
    {
        lock (Sync)
        {
            if (cursor.Generation != generation || cursor.State == CursorState.Removed)
            {
                return;
            }

            cursor.BumpGeneration();
            cursor.State = CursorState.Held;
            cursor.HeldError = null; // the application got the reason: from now on only a seek or assign moves it
            cursor.FetchOffset = offset;
            cursor.Position = offset;
        }
    }

    /// <summary>
    /// Marks every partition <paramref name="node"/> (its leader, or the read replica its leader named) may fetch at <paramref name="now"/> as in flight and lists it in
    /// <paramref name="targets"/>. Returns the earliest retry time of the node's partitions still backing off
    /// (<see cref="long.MaxValue"/> for none), for when there is nothing to fetch now.
    /// </summary>
    public long CollectTargets(int node, List<FetchTarget> targets, long now)
    {
        long nextRetry = long.MaxValue;
        lock (Sync)
        {
            foreach (var cursor in _all)
            {
                if (cursor.FetchNode != node)
                {
                    continue;
                }

                if (cursor.IsFetchable(now))
                {
                    cursor.InFlight = true;
                    targets.Add(new FetchTarget(cursor, cursor.Generation, cursor.FetchOffset, cursor.LeaderEpoch, cursor.TopicId, cursor.LastFetchedEpoch));
                }
                else if (cursor.State == CursorState.Fetching && !cursor.Paused && !cursor.InFlight && cursor.RetryAt > now)
                {
                    nextRetry = Math.Min(nextRetry, cursor.RetryAt);
                }
            }
        }

        return nextRetry;
    }

    /// <summary>
    /// Takes <paramref name="targets"/> out of flight, to be fetched again at <paramref name="retryAt"/> (a Fetch failed
    /// as a whole). A partition sought (or paused, reset) while the Fetch was out keeps its own retry time: the failure
    /// was met at the position it left.
    /// </summary>
    public void RetryAt(List<FetchTarget> targets, long retryAt)
    {
        lock (Sync)
        {
            foreach (var target in targets)
            {
                target.Cursor.InFlight = false;
                if (target.Cursor.Generation == target.Generation)
                {
                    target.Cursor.RetryAt = retryAt;
                }
            }
        }
    }

    /// <summary>Whether some cursor waits for the maintenance loop: its start position, or its leader, is unknown.</summary>
    public bool NeedMaintenance()
    {
        lock (Sync)
        {
            foreach (var cursor in _all)
            {
                if (cursor.State == CursorState.Resetting || (cursor.State == CursorState.Fetching && cursor.Leader < 0))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>
    /// Every partition's cursor, looked up before any is changed: a call naming one partition that is not assigned
    /// throws and changes none (all or nothing, so a caller's retry does not meet half of its own earlier call).
    /// </summary>
    private List<PartitionCursor> Cursors(IEnumerable<TopicPartition> partitions)
    {
        var cursors = new List<PartitionCursor>();
        foreach (var partition in partitions)
        {
            cursors.Add(Cursor(partition));
        }

        return cursors;
    }

    private PartitionCursor Cursor(TopicPartition partition) =>
        _cursors.TryGetValue(partition, out var cursor)
            ? cursor
            : throw new ArgumentException("Partition " + partition + " is not assigned to this consumer.", nameof(partition));

    private static void ApplyStart(PartitionCursor cursor, OffsetSpec start)
    {
        cursor.RetryAt = 0;
        cursor.HeldError = null;
        cursor.LastFetchedEpoch = -1;
        if (start.IsOffset)
        {
            cursor.State = CursorState.Fetching;
            cursor.FetchOffset = start.Value;
            cursor.Position = start.Value;
        }
        else
        {
            cursor.State = CursorState.Resetting;
            cursor.PendingReset = start;
            cursor.Position = -1;
        }
    }
}
