namespace Messaging.Groups.Assignors;

/// <summary>
/// The sticky assignment when members subscribe to different topics, after the Java client's
/// <c>AbstractStickyAssignor.GeneralAssignmentBuilder</c> (without rack matching).
/// </summary>
/// <remarks>
/// <para>1. Every member keeps the owned partitions of topics it still subscribes to (a partition of a topic it left
/// is revoked).</para>
/// <para>2. Each unassigned partition, topics with the fewest subscribers first, goes to the subscribed member with the
/// fewest partitions (ties by member id).</para>
/// <para>3. Balance: while some partition's owner has more than one partition more than another member subscribed to
/// its topic, the partition moves to the least-loaded such member — back to its owner of an older generation when that
/// one qualifies, as Java prefers. Newly assigned partitions are considered first unless a revocation is needed anyway,
/// so owned partitions move only when that is needed. Each move lowers the sum of squared assignment sizes, so this
/// ends; at the end the assignment is balanced in Java's sense (<c>isBalanced</c>): no partition could move to a
/// member with fewer partitions to narrow the gap.</para>
/// <para>Java additionally tracks moves (<c>PartitionMovements</c>) to avoid moving partitions of one topic back and
/// forth between two members; this port leaves that refinement out, so with unequal subscriptions the chosen partitions
/// (not the sizes) may differ from Java's.</para>
/// </remarks>
internal sealed class GeneralStickyBuilder
{
    private readonly StickyInput _input;
    private readonly List<TopicPartition>[] _assignment;
    private readonly Dictionary<TopicPartition, int> _owner = [];
    private readonly Dictionary<string, int[]> _subscribers = new(StringComparer.Ordinal);

    private GeneralStickyBuilder(StickyInput input)
    {
        _input = input;
        _assignment = AssignorInput.EmptyLists(input.Members.Length);
        foreach (string topic in input.SortedTopics)
        {
            var members = new List<int>();
            for (int m = 0; m < input.Members.Length; m++)
            {
                if (input.TopicSets[m].Contains(topic))
                {
                    members.Add(m);
                }
            }

            _subscribers.Add(topic, [.. members]);
        }
    }

    /// <summary>Builds the assignment.</summary>
    /// <param name="input">The settled input.</param>
    /// <returns>Each member's partitions, by member index.</returns>
    public static List<TopicPartition>[] Build(StickyInput input)
    {
        var builder = new GeneralStickyBuilder(input);
        return builder.Run();
    }

    private List<TopicPartition>[] Run()
    {
        Dictionary<TopicPartition, int> previousOwner = PreviousGenerationOwners();

        // Step 1: keep owned partitions of still-subscribed topics.
        bool revocationRequired = false;
        for (int m = 0; m < _input.Members.Length; m++)
        {
            foreach (TopicPartition tp in _input.Owned[m])
            {
                if (_input.TopicSets[m].Contains(tp.Topic))
                {
                    _assignment[m].Add(tp);
                    _owner[tp] = m;
                }
                else
                {
                    revocationRequired = true;
                }
            }
        }

        // Java's order: topics with fewer potential members first, then by name; partitions ascending.
        string[] topics = [.. _input.SortedTopics];
        Array.Sort(topics, (a, b) =>
        {
            int bySubscribers = _subscribers[a].Length.CompareTo(_subscribers[b].Length);
            return bySubscribers != 0 ? bySubscribers : string.CompareOrdinal(a, b);
        });

        var all = new List<TopicPartition>(_input.TotalPartitions);
        var unassigned = new List<TopicPartition>();
        foreach (string topic in topics)
        {
            int count = _input.PartitionCounts[topic];
            for (int p = 0; p < count; p++)
            {
                var tp = new TopicPartition(topic, p);
                all.Add(tp);
                if (!_owner.ContainsKey(tp))
                {
                    unassigned.Add(tp);
                }
            }
        }

        // Step 2: unassigned partitions to the least-loaded subscriber.
        foreach (TopicPartition tp in unassigned)
        {
            int member = LeastLoaded(tp.Topic);
            _assignment[member].Add(tp);
            _owner[tp] = member;
        }

        // Step 3: balance, trying the partitions that just moved anyway before owned ones.
        if (!revocationRequired)
        {
            Rebalance(unassigned, previousOwner);
        }

        Rebalance(all, previousOwner);
        return _assignment;
    }

    private void Rebalance(List<TopicPartition> candidates, Dictionary<TopicPartition, int> previousOwner)
    {
        bool moved;
        do
        {
            moved = false;
            foreach (TopicPartition tp in candidates)
            {
                int[] subscribers = _subscribers[tp.Topic];
                if (subscribers.Length < 2)
                {
                    continue;
                }

                int owner = _owner[tp];
                int ownerCount = _assignment[owner].Count;
                if (previousOwner.TryGetValue(tp, out int previous) && previous != owner
                    && _input.TopicSets[previous].Contains(tp.Topic) && ownerCount > _assignment[previous].Count + 1)
                {
                    Move(tp, owner, previous);
                    moved = true;
                    continue;
                }

                int target = LeastLoaded(tp.Topic);
                if (ownerCount > _assignment[target].Count + 1)
                {
                    Move(tp, owner, target);
                    moved = true;
                }
            }
        }
        while (moved);
    }

    private void Move(TopicPartition tp, int from, int to)
    {
        _assignment[from].Remove(tp);
        _assignment[to].Add(tp);
        _owner[tp] = to;
    }

    private int LeastLoaded(string topic)
    {
        // Java keeps members in a set sorted by (assignment size, member id) and takes the first that subscribes.
        int[] subscribers = _subscribers[topic];
        int best = subscribers[0];
        for (int i = 1; i < subscribers.Length; i++)
        {
            int m = subscribers[i];
            int byCount = _assignment[m].Count.CompareTo(_assignment[best].Count);
            if (byCount < 0 || (byCount == 0 && string.CompareOrdinal(_input.Members[m], _input.Members[best]) < 0))
            {
                best = m;
            }
        }

        return best;
    }

    /// <summary>
    /// For partitions claimed by members of an older generation, the newest such claimant (Java's
    /// <c>prepopulateCurrentAssignments</c>): the balance step prefers to move a partition back there.
    /// </summary>
    private Dictionary<TopicPartition, int> PreviousGenerationOwners()
    {
        var previous = new Dictionary<TopicPartition, (int Member, int Generation)>();
        if (_input.MaxGeneration == StickyInput.DefaultGeneration)
        {
            return [];
        }

        for (int m = 0; m < _input.Members.Length; m++)
        {
            int? generation = _input.Generations[m];
            if (generation is { } g && g >= _input.MaxGeneration)
            {
                continue;
            }

            int effective = generation ?? StickyInput.DefaultGeneration;
            foreach (TopicPartition tp in _input.RawOwned[m])
            {
                if (!previous.TryGetValue(tp, out var existing) || effective > existing.Generation)
                {
                    previous[tp] = (m, effective);
                }
            }
        }

        var result = new Dictionary<TopicPartition, int>(previous.Count);
        foreach (var (tp, owner) in previous)
        {
            result.Add(tp, owner.Member);
        }

        return result;
    }
}
