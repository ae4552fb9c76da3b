using System.Collections.Concurrent;
using Messaging.Pools;

namespace Messaging.Consumer;

/// <summary>
/// Up to <see cref="Capacity"/> decoded records of one partition, delivered together: the handle array (from the
/// <see cref="IRecordSlicePool"/>), the record objects (from the <see cref="IRecordPool"/>), and a reference on every
/// <see cref="SharedBuffer"/> (response frame, decompressed batch) the records point into. Reference-counted by live
/// records: each record's recycle, or the disposal of the batch, counts down; the last one returns everything to its
/// pool and bumps <see cref="Version"/>, so stale <see cref="ConsumeBatch"/> handles are detected.
/// </summary>
/// <remarks>
/// Filled by the consuming thread (<see cref="Next"/> and <see cref="Commit"/>, then <see cref="Seal"/>); released from any thread. Objects are
/// pooled, so nothing may touch a slice after its last release except through a version-checked handle.
/// </remarks>
internal sealed class RecordSlice
{
    private const int MaxPooled = 1024;
    private static readonly ConcurrentQueue<RecordSlice> Pool = new();
    private static int _pooledCount;

    private IRecordPool _records = null!;
    private IRecordSlicePool _slices = null!;
    private ConsumedRecord[] _handles = [];
    private PooledRecord[] _slots = new PooledRecord[16];
    private SharedBuffer?[] _buffers = new SharedBuffer?[4];
    private int _bufferCount;
    private int _capacity;
    private int _count;
    private int _live;
    private int _version;

    private RecordSlice()
    {
    }

    public TopicPartition TopicPartition { get; private set; }

    /// <summary>The cursor of the partition (for position updates), and the cursor generation the records belong to.</summary>
    public PartitionCursor? Cursor { get; private set; }

    public CursorGeneration? Generation { get; private set; }

    public int Count => _count;

    public int Capacity => _capacity;

    /// <summary>Bumped when the slice is freed.</summary>
    public int Version => Volatile.Read(ref _version);

    /// <summary>Records not yet recycled.</summary>
    public int Live => Volatile.Read(ref _live);

    /// <summary>The records' handles.</summary>
    public ReadOnlySpan<ConsumedRecord> Records => _handles.AsSpan(0, _count);

    public ConsumedRecord this[int index] => _handles[index];

    /// <summary>The record object behind handle <paramref name="index"/> (for the owner of every record, the typed path).</summary>
    public PooledRecord SlotAt(int index) => _slots[index];

    /// <summary>
    /// Recycles every record at once when the caller owns them all (no handle was given out): versions are bumped
    /// without atomics and the slice is released in one step.
    /// </summary>
    public void RecycleOwned()
    {
        for (int i = 0; i < _count; i++)
        {
            var slot = _slots[i];
            Volatile.Write(ref slot.Version, slot.Version + 1);
        }

        Release(_count);
    }

    public static RecordSlice Rent(IRecordPool records, IRecordSlicePool slices, int capacity, TopicPartition topicPartition, PartitionCursor? cursor, CursorGeneration? generation)
    {
        if (Pool.TryDequeue(out var slice))
        {
            Interlocked.Decrement(ref _pooledCount);
        }
        else
        {
            slice = new RecordSlice();
        }

        slice._records = records;
        slice._slices = slices;
        slice.TopicPartition = topicPartition;
        slice.Cursor = cursor;
        slice.Generation = generation;
        slice._handles = slices.Rent(capacity);
        if (slice._handles.Length < capacity)
        {
            throw new InvalidOperationException("The record-slice pool returned an array shorter than asked for.");
        }

        if (slice._slots.Length < capacity)
        {
            slice._slots = new PooledRecord[Math.Max(capacity, slice._slots.Length * 2)];
        }

        records.Rent(slice._slots.AsSpan(0, capacity));
        slice._capacity = capacity;
        slice._count = 0;
        slice._live = 0;
        return slice;
    }

    /// <summary>Keeps <paramref name="buffer"/> alive while this slice lives (one reference, however many records point into it).</summary>
    public void AddBuffer(SharedBuffer buffer)
    {
        for (int i = 0; i < _bufferCount; i++)
        {
            if (ReferenceEquals(_buffers[i], buffer))
            {
                return;
            }
        }

        if (_bufferCount == _buffers.Length)
        {
            Array.Resize(ref _buffers, _buffers.Length * 2);
        }

        buffer.AddReference();
        _buffers[_bufferCount++] = buffer;
    }

    /// <summary>The next record object to fill; nothing is published until <see cref="Commit"/>.</summary>
    public PooledRecord Next => _slots[_count];

    /// <summary>Publishes <see cref="Next"/>: its handle carries the version the object has now.</summary>
    public void Commit()
    {
        var slot = _slots[_count];
        slot.Owner = this;
        _handles[_count] = new ConsumedRecord(slot, slot.Version);
        _count++;
    }

    /// <summary>The decoder's position after the records in this slice (past skipped control and aborted batches too).</summary>
    public long NextOffset { get; set; } = -1;

    /// <summary>The leader epoch of the last batch the decoder passed for <see cref="NextOffset"/>, or -1 when it passed none.</summary>
    public int NextEpoch { get; set; } = -1;

    /// <summary>Filling is done: every record is live. An empty slice is freed at once.</summary>
    public void Seal()
    {
        Volatile.Write(ref _live, _count);
        if (_count == 0)
        {
            Free();
        }
    }

    /// <summary>Counts down <paramref name="records"/> recycled records; the last frees the slice.</summary>
    public void Release(int records)
    {
        if (records == 0)
        {
            return;
        }

        int left = Interlocked.Add(ref _live, -records);
        if (left == 0)
        {
            Free();
        }
        else if (left < 0)
        {
            throw new InvalidOperationException("A record slice was released more often than it had records.");
        }
    }

    /// <summary>Recycles every record of <paramref name="start"/> onward that is still live (one count-down for all).</summary>
    public void RecycleFrom(int start) => Recycle(start, _count);

    /// <summary>Recycles every record from <paramref name="start"/> up to <paramref name="end"/> (excluded) that is still live (one count-down for all).</summary>
    public void Recycle(int start, int end)
    {
        int recycled = 0;
        for (int i = start; i < end; i++)
        {
            if (TryRecycle(_handles[i]))
            {
                recycled++;
            }
        }

        if (recycled > 0)
        {
            Release(recycled);
        }
    }

    /// <summary>Recycles one record if it is still live, without counting down (the caller counts down in bulk).</summary>
    internal static bool TryRecycle(in ConsumedRecord handle) => handle.TryMarkRecycled();

    private void Free()
    {
        var slots = _slots.AsSpan(0, _capacity);
        foreach (var slot in slots)
        {
            slot.Owner = null;
            slot.View = default;
        }

        _records.Return(slots);
        slots.Clear();
        Array.Clear(_handles, 0, _count);
        _slices.Return(_handles);
        _handles = [];
        for (int i = 0; i < _bufferCount; i++)
        {
            _buffers[i]!.Release();
            _buffers[i] = null;
        }

        _bufferCount = 0;
        _count = 0;
        _capacity = 0;
        Cursor = null;
        Generation = null;
        _records = null!;
        _slices = null!;
        Interlocked.Increment(ref _version);
        if (Interlocked.Increment(ref _pooledCount) <= MaxPooled)
        {
            Pool.Enqueue(this);
        }
        else
        {
            Interlocked.Decrement(ref _pooledCount);
        }
    }
}
