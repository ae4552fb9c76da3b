using System.Runtime.ExceptionServices;
using K4os.Compression.LZ4;

namespace Messaging.Compression;

/// <summary>
/// Compresses the independent blocks of one LZ4 frame on several threads: the blocks are cut into a few runs
/// ("parts") of consecutive blocks; the calling thread and thread-pool workers each claim whole parts, compress them
/// into their own slice of the destination, and the caller then moves the parts together. Independent blocks do not
/// depend on each other, so the frame is byte for byte the one a single thread writes.
/// </summary>
/// <remarks>
/// <para>Why: with the default level, LZ4 costs about as much CPU per record as encoding the record does, and a
/// partition's batches are compressed one at a time by its sender; splitting one large batch lets a second core
/// share it. Only batches of several blocks are split (<see cref="PartsFor"/>).</para>
/// <para>The caller never waits for a part nobody started: it claims parts itself until none is left, and then waits
/// only for parts that a worker is already compressing. A busy or starved thread pool therefore costs nothing but the
/// parallelism (the caller ends up compressing everything, as the serial path does).</para>
/// <para>Buffer ownership and races: the source and destination are pinned by the caller for the whole call
/// (<see cref="Lz4Codec"/> holds them in <c>fixed</c> until <see cref="Run"/> returns); a worker touches them only for a
/// part it claimed, and the caller returns only once every claimed part is finished. A work item may still run after
/// the caller returned (it finds no part left and touches nothing but counters), so a job goes back to its pool only
/// when the caller and every queued work item have let go of it (<see cref="_references"/>): a late work item can never
/// see the next caller's job. Jobs are pooled, and at most <see cref="MaxQueuedItems"/> work items wait at once (so late
/// work items hold few jobs), so steady-state compression allocates nothing.</para>
/// </remarks>
internal sealed unsafe class Lz4ParallelBlocks : IThreadPoolWorkItem, IDisposable
{
    /// <summary>Blocks per part at the least. One: a 64 KiB block takes tens of microseconds, a hand-off to a pool
    /// thread a few, and the caller takes back any part no thread picked up in time.</summary>
    private const int MinBlocksPerPart = 1;

    /// <summary>The most parts one frame is cut into.</summary>
    private const int MaxParts = 8;

    /// <summary>
    /// The most work items waiting for a thread at once: a thread pool that does not pick them up promptly gets no
    /// more (the callers compress their parts themselves), which also bounds how many jobs late work items hold.
    /// </summary>
    private static readonly int MaxQueuedItems = Environment.ProcessorCount;

    /// <summary>
    /// Spare jobs. Roomier than one per core: a job stays out until its last work item has run, which on a busy thread
    /// pool can be after its caller's next call (the caller having compressed every part itself), so a few jobs per
    /// core keep the steady state from creating new ones.
    /// </summary>
    private static readonly CodecPool<Lz4ParallelBlocks> Jobs = new(Math.Max(8, 4 * Environment.ProcessorCount));

    /// <summary>Work items queued and not yet started, across all jobs.</summary>
    private static int _queuedItems;

    private readonly ManualResetEventSlim _partsDone = new(false);
    private readonly int[] _written = new int[MaxParts];
    private byte* _source;
    private int _sourceLength;
    private byte* _target;
    private int _stride;
    private int _blocksPerPart;
    private int _parts;
    private LZ4Level _level;
    private int _nextPart;
    private int _pendingParts;
    private int _references;
    private Exception? _failure;

    /// <summary>How many parts to cut <paramref name="blocks"/> blocks into: 1 (serial) on one core or for a few blocks.</summary>
    /// <param name="blocks">The frame's block count.</param>
    /// <returns>The part count, 1 to <see cref="MaxParts"/>.</returns>
    public static int PartsFor(int blocks) => Math.Clamp(Math.Min(Environment.ProcessorCount, blocks / MinBlocksPerPart), 1, MaxParts);

    /// <summary>The destination room <see cref="Run"/> needs for <paramref name="sourceLength"/> bytes in <paramref name="parts"/> parts.</summary>
    /// <param name="sourceLength">The bytes to compress.</param>
    /// <param name="parts">The part count.</param>
    /// <returns>The room in bytes.</returns>
    public static int RoomFor(int sourceLength, int parts)
    {
        int blocks = BlockCount(sourceLength);
        int blocksPerPart = (blocks + parts - 1) / parts;
        return parts * blocksPerPart * Lz4Codec.MaxBlockRoom;
    }

    /// <summary>
    /// Writes the blocks of <paramref name="sourceLength"/> bytes at <paramref name="source"/> (size prefix and data
    /// each, no frame header or end mark) to <paramref name="target"/>, which has <see cref="RoomFor"/> bytes.
    /// </summary>
    /// <param name="source">The pinned uncompressed bytes.</param>
    /// <param name="sourceLength">How many.</param>
    /// <param name="target">The pinned destination.</param>
    /// <param name="parts">The part count, at least 2 (from <see cref="PartsFor"/>).</param>
    /// <param name="level">The LZ4 level.</param>
    /// <returns>The bytes written, packed at <paramref name="target"/>.</returns>
    public static int Run(byte* source, int sourceLength, byte* target, int parts, LZ4Level level)
    {
        var job = Jobs.TryRent() ?? new Lz4ParallelBlocks();
        int blocksPerPart = (BlockCount(sourceLength) + parts - 1) / parts;
        job._source = source;
        job._sourceLength = sourceLength;
        job._target = target;
        job._blocksPerPart = blocksPerPart;
        job._stride = blocksPerPart * Lz4Codec.MaxBlockRoom;
        job._parts = parts;
        job._level = level;
        job._failure = null;
        job._nextPart = 0;
        job._pendingParts = parts;
        job._references = 1; // the caller, plus each work item queued below
        job._partsDone.Reset();
        for (int i = 1; i < parts && Volatile.Read(ref _queuedItems) < MaxQueuedItems; i++)
        {
            Interlocked.Increment(ref job._references);
            Interlocked.Increment(ref _queuedItems);
            ThreadPool.UnsafeQueueUserWorkItem(job, preferLocal: false);
        }

        job.CompressClaimedParts();
        if (Volatile.Read(ref job._pendingParts) != 0)
        {
            job._partsDone.Wait(); // only parts a worker is compressing right now are left
        }

        Exception? failure = job._failure;
        int total = job._written[0];
        for (int p = 1; p < parts && failure is null; p++)
        {
            // Overlapping moves towards the start: Span.CopyTo is memmove.
            new ReadOnlySpan<byte>(target + ((long)p * job._stride), job._written[p]).CopyTo(new Span<byte>(target + total, job._written[p]));
            total += job._written[p];
        }

        job.Release();
        if (failure is not null)
        {
            ExceptionDispatchInfo.Throw(failure);
        }

        return total;
    }

    /// <inheritdoc/>
    public void Execute()
    {
        Interlocked.Decrement(ref _queuedItems);
        CompressClaimedParts();
        Release();
    }

    /// <inheritdoc/>
    public void Dispose() => _partsDone.Dispose();

    private static int BlockCount(int sourceLength) => (sourceLength + Lz4Codec.BlockSize - 1) / Lz4Codec.BlockSize;

    private void CompressClaimedParts()
    {
        while (true)
        {
            int part = Interlocked.Increment(ref _nextPart) - 1;
            if (part >= _parts)
            {
                return;
            }

            try
            {
                _written[part] = CompressPart(part);
            }
#pragma warning disable CA1031 // Handed to the caller, who rethrows it on its own thread.
            catch (Exception e)
#pragma warning restore CA1031
            {
                _failure = e;
            }

            if (Interlocked.Decrement(ref _pendingParts) == 0)
            {
                _partsDone.Set();
            }
        }
    }

    private int CompressPart(int part)
    {
        int start = part * _blocksPerPart * Lz4Codec.BlockSize;
        int end = (int)Math.Min((long)start + ((long)_blocksPerPart * Lz4Codec.BlockSize), _sourceLength);
        byte* output = _target + ((long)part * _stride);
        int written = 0;
        for (int offset = start; offset < end; offset += Lz4Codec.BlockSize)
        {
            var block = new ReadOnlySpan<byte>(_source + offset, Math.Min(Lz4Codec.BlockSize, end - offset));
            written += Lz4Codec.WriteBlock(block, new Span<byte>(output + written, Lz4Codec.MaxBlockRoom), _level);
        }

        return written;
    }

    private void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            Jobs.Return(this);
        }
    }
}
