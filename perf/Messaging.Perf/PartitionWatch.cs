using System.Diagnostics;

namespace Messaging.Perf;

/// <summary>
/// One group member's view for a <c>rebalance</c> run: which partitions it owns (from its rebalance callbacks) and, per
/// partition, when it first delivered a record produced after the current event — counted only since the member last
/// got the partition, so records it delivered before an eager revocation of a partition it gets back do not count.
/// </summary>
/// <remarks>Callbacks (our group loop, or Confluent's consuming thread) and deliveries (the consuming loop) meet here
/// under one lock: records arrive at the trickle's rate (a few hundred a second), so the lock costs nothing measurable,
/// and it makes "owned, and first delivered after the event at T" one consistent snapshot.</remarks>
internal sealed class PartitionWatch
{
    private readonly Lock _lock = new();
    private readonly bool[] _owned;
    private readonly long[] _firstAfterEvent;
    private readonly long[] _lastDelivery;
    private readonly Queue<string> _history = new();
    private long _event;

    /// <param name="partitions">The topic's partition count.</param>
    /// <param name="eventTicks">The current event's time (<see cref="Stopwatch"/> ticks): records produced after it count.</param>
    public PartitionWatch(int partitions, long eventTicks)
    {
        _owned = new bool[partitions];
        _firstAfterEvent = new long[partitions];
        _lastDelivery = new long[partitions];
        _event = eventTicks;
    }

    /// <summary>Records delivered, in total (for the round's report: every member kept reading).</summary>
    public long Delivered { get; private set; }

    /// <summary>A new event at <paramref name="eventTicks"/>: deliveries before it no longer count.</summary>
    public void StartEvent(long eventTicks)
    {
        lock (_lock)
        {
            _event = eventTicks;
            Array.Clear(_firstAfterEvent);
        }
    }

    public void Assigned(int partition)
    {
        lock (_lock)
        {
            _owned[partition] = true;
            _firstAfterEvent[partition] = 0;
            Note("+", partition);
        }
    }

    /// <summary>Revoked or lost: no longer this member's.</summary>
    public void Removed(int partition)
    {
        lock (_lock)
        {
            _owned[partition] = false;
            _firstAfterEvent[partition] = 0;
            Note("-", partition);
        }
    }

    /// <summary>A record of <paramref name="partition"/> produced at <paramref name="producedAt"/> was handed to the application.</summary>
    public void OnDelivered(int partition, long producedAt)
    {
        var now = Stopwatch.GetTimestamp();
        lock (_lock)
        {
            Delivered++;
            if ((uint)partition < (uint)_lastDelivery.Length)
            {
                _lastDelivery[partition] = now;
            }

            if ((uint)partition < (uint)_owned.Length && _owned[partition] && producedAt > _event && _firstAfterEvent[partition] == 0)
            {
                _firstAfterEvent[partition] = now;
            }
        }
    }

    /// <summary>For a timeout's message: the last callbacks (+ assigned, - revoked or lost, with the time) and, per owned partition, how long ago it last delivered.</summary>
    public string Describe()
    {
        var now = Stopwatch.GetTimestamp();
        var text = new System.Text.StringBuilder();
        lock (_lock)
        {
            text.Append("last delivery ms ago:");
            for (var p = 0; p < _owned.Length; p++)
            {
                if (_owned[p])
                {
                    text.Append(' ').Append(p).Append('=').Append(_lastDelivery[p] == 0 ? "never" : ((now - _lastDelivery[p]) * 1000 / Stopwatch.Frequency).ToString(System.Globalization.CultureInfo.InvariantCulture));
                }
            }

            text.Append("; callbacks (ms after the event):");
            foreach (var entry in _history)
            {
                text.Append(' ').Append(entry);
            }
        }

        return text.ToString();
    }

    private void Note(string what, int partition)
    {
        _history.Enqueue(what + partition.ToString(System.Globalization.CultureInfo.InvariantCulture) + "@" + ((Stopwatch.GetTimestamp() - _event) * 1000 / Stopwatch.Frequency).ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (_history.Count > 48)
        {
            _history.Dequeue();
        }
    }

    /// <summary>Copies the owned partitions and their first deliveries after the event (0: none yet) into the arrays given.</summary>
    public void Snapshot(bool[] owned, long[] firstAfterEvent)
    {
        lock (_lock)
        {
            _owned.CopyTo(owned, 0);
            _firstAfterEvent.CopyTo(firstAfterEvent, 0);
        }
    }
}
