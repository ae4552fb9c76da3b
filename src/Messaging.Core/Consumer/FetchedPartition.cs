using Messaging.Buffers;
using Messaging.Protocol.Messages;

namespace Messaging.Consumer;

/// <summary>
/// One partition's part of one Fetch response, waiting in the ready queue for the consuming thread (or an error for
/// the partition, delivered in order with its data). Holds a reference on the response frame until the consumer is
/// done with it; records decoded from it take their own references.
/// </summary>
internal sealed class FetchedPartition
{
    public required PartitionCursor Cursor { get; init; }

    /// <summary>The cursor generation the data was fetched for; a different current generation means it is stale.</summary>
    public required int Generation { get; init; }

    /// <summary>The offset the Fetch asked for (batches and records before it are skipped).</summary>
    public required long FetchOffset { get; init; }

    /// <summary>The offset after the last complete batch (where the next Fetch started).</summary>
    public long EndOffset { get; init; }

    /// <summary>The record data: a slice of <see cref="Frame"/>.</summary>
    public ReadOnlyMemory<byte> Records { get; init; }

    /// <summary>The response frame (one reference held by this object until <see cref="Fetcher.Done"/>).</summary>
    public SharedBuffer? Frame { get; init; }

    /// <summary>The bytes counted against <see cref="KafkaConsumerOptions.MaxBufferedBytes"/>.</summary>
    public int Bytes { get; init; }

    /// <summary>The aborted transactions the broker listed (read_committed), or null.</summary>
    public FetchResponse.AbortedTransaction[]? AbortedTransactions { get; init; }

    /// <summary>True when the data held no complete batch at all (corrupt or truncated): the consumer reports it.</summary>
    public bool NoProgress { get; init; }

    /// <summary>An error to raise for the partition instead of data.</summary>
    public ConsumeException? Error { get; init; }

    public TopicPartition TopicPartition => Cursor.TopicPartition;
}
