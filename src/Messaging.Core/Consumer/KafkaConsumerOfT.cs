using System.Text.RegularExpressions;
using Messaging.Consumer;
using Messaging.Serialization;

namespace Messaging;

/// <summary>
/// A consumer with a typed stream: <see cref="ConsumeAsync"/> deserializes each record's key and value with the
/// <see cref="IDeserializer{T}"/>s given at construction; everything else is the <see cref="KafkaConsumer"/> underneath
/// (its own, or a shared one), raw paths included.
/// </summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
/// <remarks>Threading and errors as <see cref="KafkaConsumer"/>: one consume call at a time; assignment, seeks and pauses from any thread.</remarks>
public sealed class KafkaConsumer<TKey, TValue> : IKafkaConsumer<TKey, TValue>
{
    private readonly KafkaConsumer _consumer;
    private readonly IDeserializer<TKey> _keyDeserializer;
    private readonly IDeserializer<TValue> _valueDeserializer;
    private readonly bool _ownsConsumer;

    /// <summary>Creates a typed consumer with a consumer of its own (disposed with it); it connects when partitions are assigned.</summary>
    /// <param name="options">The settings (validated and copied now).</param>
    /// <param name="keyDeserializer">Reads keys (see <see cref="Deserializers"/>).</param>
    /// <param name="valueDeserializer">Reads values.</param>
    /// <exception cref="ArgumentException">A setting is invalid.</exception>
    public KafkaConsumer(KafkaConsumerOptions options, IDeserializer<TKey> keyDeserializer, IDeserializer<TValue> valueDeserializer)
        : this(new KafkaConsumer(options), keyDeserializer, valueDeserializer, ownsConsumer: true)
    {
    }

    /// <summary>Creates a typed view of a consumer (not disposed with this one).</summary>
    /// <param name="consumer">The consumer records come from.</param>
    /// <param name="keyDeserializer">Reads keys.</param>
    /// <param name="valueDeserializer">Reads values.</param>
    public KafkaConsumer(KafkaConsumer consumer, IDeserializer<TKey> keyDeserializer, IDeserializer<TValue> valueDeserializer)
        : this(consumer, keyDeserializer, valueDeserializer, ownsConsumer: false)
    {
    }

    private KafkaConsumer(KafkaConsumer consumer, IDeserializer<TKey> keyDeserializer, IDeserializer<TValue> valueDeserializer, bool ownsConsumer)
    {
        ArgumentNullException.ThrowIfNull(consumer);
        ArgumentNullException.ThrowIfNull(keyDeserializer);
        ArgumentNullException.ThrowIfNull(valueDeserializer);
        _consumer = consumer;
        _keyDeserializer = keyDeserializer;
        _valueDeserializer = valueDeserializer;
        _ownsConsumer = ownsConsumer;
    }

    /// <summary>The consumer of raw bytes underneath.</summary>
    public KafkaConsumer Consumer => _consumer;

    /// <inheritdoc/>
    public IReadOnlyList<TopicPartition> Assignment => _consumer.Assignment;

    /// <inheritdoc/>
    public IReadOnlyList<TopicPartition> PausedPartitions => _consumer.PausedPartitions;

    internal Fetcher Fetcher => _consumer.Fetcher;

    /// <inheritdoc/>
    public void Assign(IEnumerable<TopicPartitionOffset> partitions) => _consumer.Assign(partitions);

    /// <inheritdoc/>
    public void Unassign() => _consumer.Unassign();

    /// <inheritdoc/>
    public void Seek(TopicPartition partition, OffsetSpec offset) => _consumer.Seek(partition, offset);

    /// <inheritdoc/>
    public void Pause(IEnumerable<TopicPartition> partitions) => _consumer.Pause(partitions);

    /// <inheritdoc/>
    public void Resume(IEnumerable<TopicPartition> partitions) => _consumer.Resume(partitions);

    /// <inheritdoc/>
    public long? Position(TopicPartition partition) => _consumer.Position(partition);

    /// <inheritdoc/>
    public long? HighWatermark(TopicPartition partition) => _consumer.HighWatermark(partition);

    /// <summary>
    /// The typed stream: every record of the assigned partitions, key and value deserialized, in offset order per
    /// partition. Each result owns its data; the pooled bytes behind it are recycled as soon as it is built.
    /// </summary>
    /// <param name="cancellationToken">Ends the enumeration (with <see cref="OperationCanceledException"/>).</param>
    /// <returns>The stream; it ends only by cancellation, an error, or disposal.</returns>
    /// <exception cref="ConsumeException">A partition failed (corrupt data, a deserializer threw, ...); records before it were delivered.</exception>
    public IAsyncEnumerable<ConsumeResult<TKey, TValue>> ConsumeAsync(CancellationToken cancellationToken = default) =>
        _consumer.ConsumeAsync(_keyDeserializer, _valueDeserializer, cancellationToken);

    /// <inheritdoc/>
    public ValueTask<ConsumeBatch> ConsumeBatchAsync(CancellationToken cancellationToken = default) => _consumer.ConsumeBatchAsync(cancellationToken);

    /// <inheritdoc/>
    public IAsyncEnumerable<ConsumedRecord> ConsumeRawAsync(CancellationToken cancellationToken = default) => _consumer.ConsumeRawAsync(cancellationToken);

    /// <inheritdoc/>
    public IReadOnlyCollection<string> Subscription => _consumer.Subscription;

    /// <inheritdoc/>
    public string? MemberId => _consumer.MemberId;

    /// <inheritdoc/>
    public void Subscribe(IEnumerable<string> topics, IConsumerRebalanceListener? listener = null) => _consumer.Subscribe(topics, listener);

    /// <inheritdoc/>
    public void Subscribe(Regex pattern, IConsumerRebalanceListener? listener = null) => _consumer.Subscribe(pattern, listener);

    /// <inheritdoc/>
    public ValueTask UnsubscribeAsync(CancellationToken cancellationToken = default) => _consumer.UnsubscribeAsync(cancellationToken);

    /// <inheritdoc/>
    public ValueTask CommitAsync(CancellationToken cancellationToken = default) => _consumer.CommitAsync(cancellationToken);

    /// <inheritdoc/>
    public ValueTask CommitAsync(IEnumerable<TopicPartitionCommit> offsets, CancellationToken cancellationToken = default) => _consumer.CommitAsync(offsets, cancellationToken);

    /// <inheritdoc/>
    public void StoreOffset(TopicPartition partition, long offset) => _consumer.StoreOffset(partition, offset);

    /// <inheritdoc/>
    public void StoreOffset(ConsumeResult<TKey, TValue> result) => _consumer.StoreOffset(result.TopicPartition, result.Offset + 1);

    /// <inheritdoc/>
    public ValueTask<IReadOnlyList<TopicPartitionCommit>> CommittedAsync(IEnumerable<TopicPartition> partitions, CancellationToken cancellationToken = default) =>
        _consumer.CommittedAsync(partitions, cancellationToken);

    /// <summary>Disposes the consumer underneath if this instance created it.</summary>
    /// <returns>When it is disposed.</returns>
    public ValueTask DisposeAsync() => _ownsConsumer ? _consumer.DisposeAsync() : ValueTask.CompletedTask;
}
