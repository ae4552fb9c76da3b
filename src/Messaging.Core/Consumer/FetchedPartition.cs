using System.Collections.Concurrent;
using Messaging.Protocol.Messages;

namespace Messaging.Consumer;

/// <summary>
/// One partition's part of one Fetch response, waiting in the ready queue for the consuming thread (or an error for
/// the partition, delivered in order with its data). Holds a reference on the response frame until the consumer is
/// done with it (<see cref="Fetcher.Done"/>, which also returns this object to its pool: nothing may touch it after);
/// records decoded from it take their own references.
/// </summary>
internal sealed class FetchedPartition
{
    private const int MaxPooled = 1024;
    private static readonly ConcurrentQueue<FetchedPartition> Pool = new();
    private static int _pooledCount;

    private FetchedPartition()
    {
    }

    /// <summary>
    /// Not data: queued to wake a consumer waiting for records so it looks at its group again (the member failed for
    /// good, or a rebalance listener threw). Never pooled, never released.
    /// </summary>
    public static FetchedPartition WakeUp { get; } = new();

    public PartitionCursor Cursor { get; private set; } = null!;

    /// <summary>The cursor generation the data was fetched for; a different current generation means it is stale.</summary>
    public CursorGeneration Generation { get; private set; } = null!;

    /// <summary>The offset the Fetch asked for (batches and records before it are skipped).</summary>
    public long FetchOffset { get; private set; }

    /// <summary>The record data: a slice of <see cref="Frame"/>.</summary>
    public ReadOnlyMemory<byte> Records { get; private set; }

    /// <summary>The response frame (one reference held by this object until <see cref="Fetcher.Done"/>).</summary>
    public SharedBuffer? Frame { get; private set; }

    /// <summary>The bytes counted against <see cref="KafkaConsumerOptions.MaxBufferedBytes"/>.</summary>
    public int Bytes { get; private set; }

    /// <summary>The aborted transactions the broker listed (read_committed), or null.</summary>
    public FetchResponse.AbortedTransaction[]? AbortedTransactions { get; private set; }

    /// <summary>An error to raise for the partition instead of data.</summary>
    public ConsumeException? Error { get; private set; }

    public TopicPartition TopicPartition => Cursor.TopicPartition;

    /// <summary>Data for a partition; the caller has added the reference on <paramref name="frame"/> this object holds.</summary>
    public static FetchedPartition ForData(PartitionCursor cursor, CursorGeneration generation, long fetchOffset, ReadOnlyMemory<byte> records, SharedBuffer frame, FetchResponse.AbortedTransaction[]? aborted)
    {
        var chunk = Take();
        chunk.Cursor = cursor;
        chunk.Generation = generation;
        chunk.FetchOffset = fetchOffset;
        chunk.Records = records;
        chunk.Frame = frame;
        chunk.Bytes = records.Length;
        chunk.AbortedTransactions = aborted is { Length: > 0 } ? aborted : null;
        return chunk;
    }

    public static FetchedPartition ForError(PartitionCursor cursor, CursorGeneration generation, ConsumeException error)
    {
        var chunk = Take();
        chunk.Cursor = cursor;
        chunk.Generation = generation;
        chunk.FetchOffset = error.Offset;
        chunk.Error = error;
        return chunk;
    }

    /// <summary>Clears the object and pools it (after its frame reference was released).</summary>
    public void Recycle()
    {
        Cursor = null!;
        Generation = null!;
        Records = default;
        Frame = null;
        Bytes = 0;
        AbortedTransactions = null;
        Error = null;
        if (Interlocked.Increment(ref _pooledCount) <= MaxPooled)
        {
            Pool.Enqueue(this);
        }
        else
        {
            Interlocked.Decrement(ref _pooledCount);
        }
    }

    private static FetchedPartition Take()
    {
        if (Pool.TryDequeue(out var chunk))
        {
            Interlocked.Decrement(ref _pooledCount);
            return chunk;
        }

        return new FetchedPartition();
    }
}
