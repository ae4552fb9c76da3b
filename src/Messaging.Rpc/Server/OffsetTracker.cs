namespace Messaging.Rpc;

/// <summary>
/// The requests taken from one partition, in offset order, and which of them are done; its watermark is the offset to
/// commit: one past the last request of the longest completed prefix. Requests complete in any order (handlers run
/// concurrently), but the watermark only moves over a contiguous run of completed ones, so a commit never covers a
/// request still running — at-least-once.
/// </summary>
/// <remarks>
/// <para><b>Threads.</b> <see cref="TryRegister"/> is called by one thread (the server's consuming loop);
/// <see cref="Complete"/> by any thread, without locks (it sets one flag); <see cref="Advance"/> by one thread at a
/// time (the server serializes its commits), concurrently with both.</para>
/// <para><b>Memory.</b> Offsets and flags live in fixed segments of <see cref="SegmentSize"/> entries, linked in
/// order: registering never moves an entry (a completer writes its flag through the segment it was given), and a
/// segment the watermark has passed is dropped. A request that never completes holds the watermark (and the segments
/// after it) until the partition is revoked — the server cancels handlers at their deadline, so that is bounded by
/// the longest deadline times the request rate.</para>
/// <para><b>Truncation.</b> After a log truncation the partition is read again from where the log diverges
/// (<see cref="Rewind"/>): the new leader's records there are requests nobody handled, registered after the old ones.
/// The old entries still hold the watermark until they complete, but none of them moves it past the divergence — the
/// only time the watermark moves back.</para>
/// </remarks>
internal sealed class OffsetTracker
{
    /// <summary>Entries per segment.</summary>
    public const int SegmentSize = 256;

    private Segment _head = new();
    private int _headIndex;
    private Segment _tail;
    private long _lastRegistered = -1;
    private long _watermark = -1;
    private readonly System.Collections.Concurrent.ConcurrentQueue<Divergence> _divergences = new(); // not passed by Advance yet, in registration order

    public OffsetTracker() => _tail = _head;

    /// <summary>The watermark as of the last <see cref="Advance"/>: the offset to commit, or -1 while nothing has completed.</summary>
    public long Watermark => Volatile.Read(ref _watermark);

    /// <summary>
    /// Enters the request at <paramref name="offset"/>; false (nothing entered) when it is not above every offset
    /// entered before — a record delivered twice, which must not be handled twice.
    /// </summary>
    public bool TryRegister(long offset, out Slot slot)
    {
        if (offset <= _lastRegistered)
        {
            slot = default;
            return false;
        }

        var segment = _tail;
        var index = segment.Count;
        if (index == SegmentSize)
        {
            var next = new Segment();
            Volatile.Write(ref segment.Next, next);
            _tail = segment = next;
            index = 0;
        }

        segment.Offsets[index] = offset;
        // Publishes the offset to Advance: the count is written after the entry it counts.
        Volatile.Write(ref segment.Count, index + 1);
        _lastRegistered = offset;
        slot = new Slot(segment, index);
        return true;
    }

    /// <summary>
    /// The partition's log diverges from <paramref name="offset"/> on (a truncation): offsets from there are taken again
    /// (they are the new log's requests), and the entries registered so far never move the watermark past it. Called
    /// by the thread that registers; nothing happens when no offset from there on was registered.
    /// </summary>
    public void Rewind(long offset)
    {
        if (offset > _lastRegistered)
        {
            return;
        }

        // Queued before the next entry's count is published: Advance, seeing that entry, sees this too.
        _divergences.Enqueue(new Divergence(_tail, _tail.Count, offset));
        _lastRegistered = offset - 1;
    }

    /// <summary>Marks a registered request done (its reply acknowledged, or no reply needed). Any thread; idempotent.</summary>
    public static void Complete(in Slot slot) => Volatile.Write(ref slot.Segment.Done[slot.Index], 1);

    /// <summary>
    /// Moves the watermark over the completed prefix and returns it (-1 while nothing has completed). Never moves
    /// backwards, but to where a log truncation made the partition be read again (<see cref="Rewind"/>).
    /// </summary>
    public long Advance()
    {
        var segment = _head;
        var index = _headIndex;
        var cap = Cap();
        var watermark = Math.Min(_watermark, cap);
        while (true)
        {
            var count = Volatile.Read(ref segment.Count);
            while (true)
            {
                if (!_divergences.IsEmpty && _divergences.TryPeek(out var divergence) && divergence.Segment == segment && divergence.Index == index)
                {
                    // Every entry before it is passed (the ones after it are the new log's): none of them counts past it,
                    // whether or not it was queued when this began.
                    _divergences.TryDequeue(out _);
                    watermark = Math.Min(watermark, divergence.Offset);
                    cap = Cap();
                    continue;
                }

                if (index >= count || Volatile.Read(ref segment.Done[index]) == 0)
                {
                    break;
                }

                watermark = Math.Min(segment.Offsets[index] + 1, cap);
                index++;
            }

            if (index < SegmentSize || Volatile.Read(ref segment.Next) is not { } next)
            {
                break;
            }

            segment = next; // the passed segment is unreachable from here on
            index = 0;
        }

        _head = segment;
        _headIndex = index;
        Volatile.Write(ref _watermark, watermark);
        return watermark;
    }

    /// <summary>The highest watermark the entries before the next divergence may give: the lowest divergence not passed.</summary>
    private long Cap()
    {
        var cap = long.MaxValue;
        if (!_divergences.IsEmpty)
        {
            foreach (var divergence in _divergences)
            {
                cap = Math.Min(cap, divergence.Offset);
            }
        }

        return cap;
    }

    /// <summary>A log truncation: the entries before <see cref="Segment"/>[<see cref="Index"/>] read a log that diverges from <see cref="Offset"/> on.</summary>
    private sealed record Divergence(Segment Segment, int Index, long Offset);

    /// <summary>Where one request's done flag lives.</summary>
    internal readonly record struct Slot(Segment Segment, int Index);

    internal sealed class Segment
    {
        public readonly long[] Offsets = new long[SegmentSize];
        public readonly int[] Done = new int[SegmentSize];
        public int Count;
        public Segment? Next;
    }
}
