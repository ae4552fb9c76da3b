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

    public OffsetTracker() => _tail = _head;

    /// <summary>The watermark as of the last <see cref="Advance"/>: the offset to commit, or -1 while nothing has completed.</summary>
    public long Watermark => Volatile.Read(ref _watermark);

    /// <summary>The highest offset registered, or -1.</summary>

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

    /// <summary>Marks a registered request done (its reply acknowledged, or no reply needed). Any thread; idempotent.</summary>
    public static void Complete(in Slot slot) => Volatile.Write(ref slot.Segment.Done[slot.Index], 1);

    /// <summary>Moves the watermark over the completed prefix and returns it (-1 while nothing has completed). Never moves backwards.</summary>
    public long Advance()
    {
        var segment = _head;
        var index = _headIndex;
        var watermark = _watermark;
        while (true)
        {
            var count = Volatile.Read(ref segment.Count);
            while (index < count && Volatile.Read(ref segment.Done[index]) != 0)
            {
                watermark = segment.Offsets[index] + 1;
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
