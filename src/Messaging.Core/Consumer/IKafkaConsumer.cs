using System.Text.RegularExpressions;

namespace Messaging;

/// <summary>
/// What a service needs of a consumer of raw bytes (<see cref="KafkaConsumer"/>), as an interface to substitute in
/// tests: assignment, positions, and the raw batch and record streams.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1716:Identifiers should not match keywords", Justification = "Resume is Kafka's name for it (and Visual Basic's keyword is not a concern for this API).")]
public interface IKafkaConsumer : IAsyncDisposable
{
    /// <summary>The assigned partitions.</summary>
    IReadOnlyList<TopicPartition> Assignment { get; }

    /// <summary>The paused partitions.</summary>
    IReadOnlyList<TopicPartition> PausedPartitions { get; }

    /// <summary>Replaces the assignment: exactly these partitions, each from its start position.</summary>
    /// <param name="partitions">The partitions and where to start.</param>
    void Assign(IEnumerable<TopicPartitionOffset> partitions);

    /// <summary>Stops reading every partition.</summary>
    void Unassign();

    /// <summary>Moves a partition's position; data fetched ahead is dropped.</summary>
    /// <param name="partition">An assigned partition.</param>
    /// <param name="offset">Where to continue.</param>
    /// <exception cref="ArgumentException">The partition is not assigned.</exception>
    void Seek(TopicPartition partition, OffsetSpec offset);

    /// <summary>Stops delivering and fetching the partitions until resumed; their positions are kept.</summary>
    /// <param name="partitions">Assigned partitions.</param>
    /// <exception cref="ArgumentException">A partition is not assigned; none of them is paused.</exception>
    void Pause(IEnumerable<TopicPartition> partitions);

    /// <summary>Resumes paused partitions from their positions.</summary>
    /// <param name="partitions">Assigned partitions.</param>
    /// <exception cref="ArgumentException">A partition is not assigned; none of them is resumed.</exception>
    void Resume(IEnumerable<TopicPartition> partitions);

    /// <summary>The offset of the next record the application will get from the partition, or null while its start is being looked up.</summary>
    /// <param name="partition">An assigned partition.</param>
    /// <returns>The position.</returns>
    /// <exception cref="ArgumentException">The partition is not assigned.</exception>
    long? Position(TopicPartition partition);

    /// <summary>The partition's high watermark as of the last Fetch response, or null before one.</summary>
    /// <param name="partition">An assigned partition.</param>
    /// <returns>The high watermark.</returns>
    /// <exception cref="ArgumentException">The partition is not assigned.</exception>
    long? HighWatermark(TopicPartition partition);

    /// <summary>The subscribed topics (for a pattern, those it matches now); empty when not subscribed.</summary>
    IReadOnlyCollection<string> Subscription { get; }

    /// <summary>The member id the group coordinator knows this consumer by, or null before it joined.</summary>
    string? MemberId { get; }

    /// <summary>Joins the consumer group to read <paramref name="topics"/>; replaces an earlier subscription.</summary>
    /// <param name="topics">The topics.</param>
    /// <param name="listener">Told of assigned, revoked and lost partitions, or null.</param>
    void Subscribe(IEnumerable<string> topics, IConsumerRebalanceListener? listener = null);

    /// <summary>Joins the consumer group to read every topic matching <paramref name="pattern"/>.</summary>
    /// <param name="pattern">The topic-name pattern.</param>
    /// <param name="listener">Told of assigned, revoked and lost partitions, or null.</param>
    void Subscribe(Regex pattern, IConsumerRebalanceListener? listener = null);

    /// <summary>Leaves the group after revoking the owned partitions.</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>When the member has left.</returns>
    ValueTask UnsubscribeAsync(CancellationToken cancellationToken = default);

    /// <summary>Commits the stored offsets (by default, the consumed positions).</summary>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>When the coordinator has stored them.</returns>
    ValueTask CommitAsync(CancellationToken cancellationToken = default);

    /// <summary>Commits exactly <paramref name="offsets"/>.</summary>
    /// <param name="offsets">What to commit.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>When the coordinator has stored them.</returns>
    ValueTask CommitAsync(IEnumerable<TopicPartitionCommit> offsets, CancellationToken cancellationToken = default);

    /// <summary>Stores the offset of the next record to read for a partition, for the next commit.</summary>
    /// <param name="partition">A partition this consumer reads.</param>
    /// <param name="offset">The last processed record's offset + 1.</param>
    void StoreOffset(TopicPartition partition, long offset);

    /// <summary>The group's committed offsets (-1 where none).</summary>
    /// <param name="partitions">The partitions.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>One entry per partition.</returns>
    ValueTask<IReadOnlyList<TopicPartitionCommit>> CommittedAsync(IEnumerable<TopicPartition> partitions, CancellationToken cancellationToken = default);

    /// <summary>Up to <c>MaxPollRecords</c> records of one partition over pooled memory; dispose the batch when done.</summary>
    /// <param name="cancellationToken">Cancels the wait for records.</param>
    /// <returns>A batch with at least one record.</returns>
    ValueTask<ConsumeBatch> ConsumeBatchAsync(CancellationToken cancellationToken = default);

    /// <summary>Raw records one at a time over pooled memory; recycle each.</summary>
    /// <param name="cancellationToken">Ends the enumeration.</param>
    /// <returns>The stream.</returns>
    IAsyncEnumerable<ConsumedRecord> ConsumeRawAsync(CancellationToken cancellationToken = default);
}

/// <summary>A consumer with a typed stream (<see cref="KafkaConsumer{TKey, TValue}"/>), as an interface to substitute in tests.</summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
public interface IKafkaConsumer<TKey, TValue> : IKafkaConsumer
{
    /// <summary>Every record of the assigned partitions, key and value deserialized, in offset order per partition.</summary>
    /// <param name="cancellationToken">Ends the enumeration.</param>
    /// <returns>The stream.</returns>
    IAsyncEnumerable<ConsumeResult<TKey, TValue>> ConsumeAsync(CancellationToken cancellationToken = default);

    /// <summary>Stores <paramref name="result"/>'s offset + 1 as the partition's next offset to commit (after processing it).</summary>
    /// <param name="result">A record this consumer delivered.</param>
    void StoreOffset(ConsumeResult<TKey, TValue> result);
}
