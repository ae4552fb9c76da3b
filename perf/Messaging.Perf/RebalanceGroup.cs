using System.Diagnostics;
using System.Globalization;

namespace Messaging.Perf;

/// <summary>
/// One client's group in a <c>rebalance</c> run, and the two events timed on it. An event's time runs from the moment
/// a member starts leaving (or a new one is created) until <em>every</em> partition is being consumed again: the
/// group's live members own every partition exactly once, balanced (each owns ⌊P/M⌋ or ⌈P/M⌉ — the assignment every
/// assignor here settles on, so a half-done cooperative or KIP-848 hand-over does not count as done), and each
/// partition's owner has delivered a record produced after the event since it (last) got the partition. The time is
/// that of the last partition's first such delivery.
/// </summary>
/// <remarks>
/// Partitions that never stop (cooperative and KIP-848 keep what need not move) count at once — a record is produced
/// to every partition each trickle interval — so an eager rebalance, which stops every partition, shows as slower.
/// Records of the trickle carry their send time; deliveries and callbacks are collected by each member's
/// <see cref="PartitionWatch"/>.
/// </remarks>
internal sealed class RebalanceGroup : IAsyncDisposable
{
    private readonly string _client;
    private readonly string _bootstrap;
    private readonly string _topic;
    private readonly string _groupId;
    private readonly RebalanceSettings _settings;
    private readonly List<RebalanceMember> _members = [];
    private int _created;

    public RebalanceGroup(string client, string bootstrap, string topic, RebalanceSettings settings)
    {
        _client = client;
        _bootstrap = bootstrap;
        _topic = topic;
        _settings = settings;
        _groupId = "perf-rebalance-" + client + "-" + Guid.NewGuid().ToString("N")[..8];
    }

    public string Client => _client;

    /// <summary>Starts the group's members and waits until they consume every partition; returns how long that took (ms, not a measured figure).</summary>
    public async Task<double> FormAsync(CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < _settings.Members; i++)
        {
            _members.Add(NewMember(start));
        }

        return await ConsumedAgainAsync(start, "the group forming", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The oldest member leaves: ms until every partition is consumed again by the rest.</summary>
    public async Task<double> LeaveAsync(CancellationToken cancellationToken)
    {
        var leaving = _members[0];
        await leaving.StopReadingAsync().ConfigureAwait(false); // not timed: an application stops reading, then closes
        ThrowIfFailed(leaving);
        _members.RemoveAt(0);
        var start = Stopwatch.GetTimestamp();
        foreach (var member in _members)
        {
            member.Watch.StartEvent(start);
        }

        var leave = leaving.LeaveAsync();
        var elapsed = await ConsumedAgainAsync(start, "a member leaving", cancellationToken).ConfigureAwait(false);
        await leave.ConfigureAwait(false);
        return elapsed;
    }

    /// <summary>A new member joins: ms until every partition is consumed again, the newcomer's share by the newcomer.</summary>
    public async Task<double> JoinAsync(CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        foreach (var member in _members)
        {
            member.Watch.StartEvent(start);
        }

        _members.Add(NewMember(start));
        return await ConsumedAgainAsync(start, "a member joining", cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var member in _members)
        {
            await member.StopReadingAsync().ConfigureAwait(false);
            await member.LeaveAsync().ConfigureAwait(false);
        }

        _members.Clear();
    }

    private RebalanceMember NewMember(long eventTicks)
    {
        var name = "perf-rebalance-" + _client + "-" + (++_created).ToString(CultureInfo.InvariantCulture);
        var watch = new PartitionWatch(_settings.Partitions, eventTicks);
        return _client == "confluent"
            ? new ConfluentRebalanceMember(_bootstrap, _topic, _groupId, name, _settings, watch)
            : new MessagingRebalanceMember(_bootstrap, _topic, _groupId, name, _settings, watch);
    }

    private async Task<double> ConsumedAgainAsync(long start, string what, CancellationToken cancellationToken)
    {
        var partitions = _settings.Partitions;
        var owned = new bool[_members.Count][];
        var first = new long[_members.Count][];
        for (var m = 0; m < owned.Length; m++)
        {
            owned[m] = new bool[partitions];
            first[m] = new long[partitions];
        }

        long last = 0;
        try
        {
            await Poll.UntilAsync(() => AllConsumedAgain(owned, first, out last), _settings.EventTimeout,
                _client + ": every partition consumed again after " + what, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException(ex.Message + " " + DescribeMembers(owned, first, start), ex);
        }

        return (last - start) * 1000.0 / Stopwatch.Frequency;
    }

    /// <summary>Where the group stood (for a timeout's message): each member's partitions, * for those consumed again.</summary>
    private string DescribeMembers(bool[][] owned, long[][] first, long start)
    {
        var text = new System.Text.StringBuilder("Members (partition, * = consumed again since the event): ");
        for (var m = 0; m < _members.Count; m++)
        {
            _members[m].Watch.Snapshot(owned[m], first[m]);
            text.Append(CultureInfo.InvariantCulture, $"[{m}: {_members[m].Watch.Delivered} delivered; owns");
            for (var p = 0; p < _settings.Partitions; p++)
            {
                if (owned[m][p])
                {
                    text.Append(' ').Append(p).Append(first[m][p] > start ? "*" : "");
                }
            }

            text.Append("; ").Append(_members[m].Watch.Describe()).Append("] ");
        }

        return text.ToString();
    }

    private bool AllConsumedAgain(bool[][] owned, long[][] first, out long last)
    {
        last = 0;
        var partitions = _settings.Partitions;
        var lowShare = partitions / _members.Count;
        var highShare = (partitions + _members.Count - 1) / _members.Count;
        Span<int> owner = stackalloc int[partitions];
        owner.Fill(-1);
        for (var m = 0; m < _members.Count; m++)
        {
            ThrowIfFailed(_members[m]);
            _members[m].Watch.Snapshot(owned[m], first[m]);
            var share = 0;
            for (var p = 0; p < partitions; p++)
            {
                if (!owned[m][p])
                {
                    continue;
                }

                if (owner[p] >= 0)
                {
                    return false; // two owners: the hand-over is under way
                }

                owner[p] = m;
                share++;
            }

            if (share < lowShare || share > highShare)
            {
                return false;
            }
        }

        for (var p = 0; p < partitions; p++)
        {
            if (owner[p] < 0 || first[owner[p]][p] == 0)
            {
                return false;
            }

            last = Math.Max(last, first[owner[p]][p]);
        }

        return true;
    }

    private void ThrowIfFailed(RebalanceMember member)
    {
        if (member.Failure is { } failure)
        {
            throw new InvalidOperationException(_client + ": a member's consumer failed: " + failure.Message, failure);
        }
    }
}
