
namespace Messaging;

/// <summary>What a service needs of a producer of raw bytes (<see cref="KafkaProducer"/>), as an interface to substitute in tests.</summary>
public interface IKafkaProducer : IAsyncDisposable
{
    /// <summary>Produces a record and completes when it is acknowledged.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="key">The key, or null for none; copied before the call returns.</param>
    /// <param name="value">The value, or null (a tombstone); copied before the call returns.</param>
    /// <param name="headers">The headers, or null.</param>
    /// <param name="partition">The partition, or null to let the partitioner choose.</param>
    /// <param name="timestamp">The record's timestamp, or null for now.</param>
    /// <param name="cancellationToken">Stops waiting; a record already buffered may still be delivered.</param>
    /// <returns>Where the record landed.</returns>
    ValueTask<DeliveryResult> ProduceAsync(string topic, ReadOnlyMemory<byte>? key, ReadOnlyMemory<byte>? value,
        IReadOnlyList<RecordHeader>? headers = null, int? partition = null, Timestamp? timestamp = null, CancellationToken cancellationToken = default);

    /// <summary>Produces a record without waiting for it; the outcome goes to <paramref name="onDelivery"/>, if any.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="record">The record; its bytes are copied before the call returns.</param>
    /// <param name="onDelivery">Told the outcome, or null.</param>
    /// <param name="state">Passed to <paramref name="onDelivery"/>.</param>
    void Produce(string topic, in ProducerRecord record, DeliveryHandler? onDelivery = null, object? state = null);

    /// <summary>Produces a record without waiting for it; the outcome goes to <paramref name="onDelivery"/> with state of any type (not boxed).</summary>
    /// <typeparam name="TState">The state's type.</typeparam>
    /// <param name="topic">The topic.</param>
    /// <param name="record">The record; its bytes are copied before the call returns.</param>
    /// <param name="state">Passed to <paramref name="onDelivery"/> (first, as in <c>string.Create</c>: a lambda in its place would make the call ambiguous with the object-state overload).</param>
    /// <param name="onDelivery">Told the outcome.</param>
    void Produce<TState>(string topic, in ProducerRecord record, TState state, DeliveryHandler<TState> onDelivery);

    /// <summary>Sends every buffered record without lingering and completes when each is delivered or failed.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>When every record produced before the call has its outcome.</returns>
    Task FlushAsync(CancellationToken cancellationToken = default);
}

/// <summary>What a service needs of a producer of typed keys and values (<see cref="KafkaProducer{TKey, TValue}"/>), as an interface to substitute in tests.</summary>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
public interface IKafkaProducer<TKey, TValue> : IAsyncDisposable
{
    /// <summary>Serializes and produces a record; completes when it is acknowledged.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="key">The key (null: no key).</param>
    /// <param name="value">The value (null: a tombstone).</param>
    /// <param name="cancellationToken">Stops waiting; a buffered record may still be delivered.</param>
    /// <returns>Where the record landed.</returns>
    ValueTask<DeliveryResult> ProduceAsync(string topic, TKey key, TValue value, CancellationToken cancellationToken = default);

    /// <summary>Serializes and produces a record with headers, partition or timestamp; completes when it is acknowledged.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="record">The record.</param>
    /// <param name="cancellationToken">Stops waiting; a buffered record may still be delivered.</param>
    /// <returns>Where the record landed.</returns>
    ValueTask<DeliveryResult> ProduceAsync(string topic, ProducerRecord<TKey, TValue> record, CancellationToken cancellationToken = default);

    /// <summary>Serializes and produces a record without waiting for it.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="record">The record.</param>
    /// <param name="onDelivery">Told the outcome, or null.</param>
    /// <param name="state">Passed to <paramref name="onDelivery"/>.</param>
    void Produce(string topic, ProducerRecord<TKey, TValue> record, DeliveryHandler? onDelivery = null, object? state = null);

    /// <summary>Serializes and produces a record without waiting for it; the outcome goes to <paramref name="onDelivery"/> with state of any type (not boxed).</summary>
    /// <typeparam name="TState">The state's type.</typeparam>
    /// <param name="topic">The topic.</param>
    /// <param name="record">The record.</param>
    /// <param name="state">Passed to <paramref name="onDelivery"/> (first, as in <c>string.Create</c>: a lambda in its place would make the call ambiguous with the object-state overload).</param>
    /// <param name="onDelivery">Told the outcome.</param>
    void Produce<TState>(string topic, ProducerRecord<TKey, TValue> record, TState state, DeliveryHandler<TState> onDelivery);

    /// <summary>Sends every buffered record without lingering and completes when each is delivered or failed.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    /// <returns>When every record produced before the call has its outcome.</returns>
    Task FlushAsync(CancellationToken cancellationToken = default);
}
