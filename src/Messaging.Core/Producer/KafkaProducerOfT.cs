using System.Buffers;
using Messaging.Producer;
using Messaging.Records;
using Messaging.Serialization;

namespace Messaging;

/// <summary>
/// A producer of typed keys and values: each record is serialized with the <see cref="ISerializer{T}"/>s given at
/// construction, then produced through a <see cref="KafkaProducer"/> (its own, or a shared one). Thread-safe.
/// </summary>
/// <remarks>
/// Serializers write into a per-thread buffer that is reused for every record, and the bytes are copied into the
/// partition's batch; the key has to be serialized before the batch is chosen anyway (the partition is the hash of
/// the serialized key), and serializing outside the partition's lock keeps user code from holding it. A null key
/// or value (reference types) is produced as a Kafka null without calling the serializer.
/// </remarks>
/// <typeparam name="TKey">The key type.</typeparam>
/// <typeparam name="TValue">The value type.</typeparam>
public sealed class KafkaProducer<TKey, TValue> : IKafkaProducer<TKey, TValue>
{
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? _keyBuffer;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? _valueBuffer;

    private readonly KafkaProducer _producer;
    private readonly ISerializer<TKey> _keySerializer;
    private readonly ISerializer<TValue> _valueSerializer;
    private readonly bool _ownsProducer;

    /// <summary>Creates a typed producer with a producer of its own (disposed with it).</summary>
    /// <param name="options">The producer's settings.</param>
    /// <param name="keySerializer">Serializes keys (see <see cref="Serializers"/>).</param>
    /// <param name="valueSerializer">Serializes values.</param>
    public KafkaProducer(KafkaProducerOptions options, ISerializer<TKey> keySerializer, ISerializer<TValue> valueSerializer)
        : this(new KafkaProducer(options), keySerializer, valueSerializer, ownsProducer: true)
    {
    }

    /// <summary>Creates a typed view of a shared producer (not disposed with this one).</summary>
    /// <param name="producer">The producer records go through.</param>
    /// <param name="keySerializer">Serializes keys.</param>
    /// <param name="valueSerializer">Serializes values.</param>
    public KafkaProducer(KafkaProducer producer, ISerializer<TKey> keySerializer, ISerializer<TValue> valueSerializer)
        : this(producer, keySerializer, valueSerializer, ownsProducer: false)
    {
    }

    private KafkaProducer(KafkaProducer producer, ISerializer<TKey> keySerializer, ISerializer<TValue> valueSerializer, bool ownsProducer)
    {
        ArgumentNullException.ThrowIfNull(producer);
        ArgumentNullException.ThrowIfNull(keySerializer);
        ArgumentNullException.ThrowIfNull(valueSerializer);
        _producer = producer;
        _keySerializer = keySerializer;
        _valueSerializer = valueSerializer;
        _ownsProducer = ownsProducer;
    }

    /// <summary>The untyped producer underneath.</summary>
    public KafkaProducer Producer => _producer;

    /// <summary>Serializes and produces a record; completes when it is acknowledged (see <see cref="KafkaProducer"/>).</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="key">The key (null: no key).</param>
    /// <param name="value">The value (null: a tombstone).</param>
    /// <param name="cancellationToken">Stops waiting; a buffered record may still be delivered.</param>
    /// <returns>Where the record landed.</returns>
    /// <exception cref="ProduceException">The record was not delivered.</exception>
    /// <exception cref="ObjectDisposedException">The producer was disposed.</exception>
    public ValueTask<DeliveryResult> ProduceAsync(string topic, TKey key, TValue value, CancellationToken cancellationToken = default) =>
        ProduceAsync(topic, new ProducerRecord<TKey, TValue>(key, value), cancellationToken);

    /// <summary>Serializes and produces a record with headers, partition or timestamp; completes when it is acknowledged.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="record">The record.</param>
    /// <param name="cancellationToken">Stops waiting; a buffered record may still be delivered.</param>
    /// <returns>Where the record landed.</returns>
    /// <exception cref="ProduceException">The record was not delivered.</exception>
    /// <exception cref="ObjectDisposedException">The producer was disposed.</exception>
    public ValueTask<DeliveryResult> ProduceAsync(string topic, ProducerRecord<TKey, TValue> record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(topic);
        var nulls = Serialize(record.Key, record.Value, out var keyBytes, out var valueBytes);
        return _producer.ProduceSpansAsync(topic, keyBytes, valueBytes, nulls, record.Headers, record.Partition ?? -1,
            record.Timestamp?.UnixTimeMilliseconds ?? KafkaProducer.NowMs(), cancellationToken);
    }

    /// <summary>Serializes and produces a record without waiting for it (see <see cref="KafkaProducer.Produce(string, ReadOnlySpan{byte}, ReadOnlySpan{byte}, DeliveryHandler?, object?)"/>).</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="key">The key (null: no key).</param>
    /// <param name="value">The value (null: a tombstone).</param>
    /// <param name="onDelivery">Told the outcome, or null.</param>
    /// <param name="state">Passed to <paramref name="onDelivery"/>.</param>
    /// <exception cref="ProduceException">The record could not be buffered; the handler is not called.</exception>
    /// <exception cref="ObjectDisposedException">The producer was disposed.</exception>
    public void Produce(string topic, TKey key, TValue value, DeliveryHandler? onDelivery = null, object? state = null) =>
        Produce(topic, new ProducerRecord<TKey, TValue>(key, value), onDelivery, state);

    /// <summary>Serializes and produces a record with headers, partition or timestamp without waiting for it.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="record">The record.</param>
    /// <param name="onDelivery">Told the outcome, or null.</param>
    /// <param name="state">Passed to <paramref name="onDelivery"/>.</param>
    /// <exception cref="ProduceException">The record could not be buffered; the handler is not called.</exception>
    /// <exception cref="ObjectDisposedException">The producer was disposed.</exception>
    public void Produce(string topic, ProducerRecord<TKey, TValue> record, DeliveryHandler? onDelivery = null, object? state = null)
    {
        ArgumentNullException.ThrowIfNull(topic);
        ProduceSerialized(topic, record, onDelivery, state);
    }

    /// <summary>Serializes and produces a record without waiting for it; the outcome goes to <paramref name="onDelivery"/> with state of any type (not boxed).</summary>
    /// <typeparam name="TState">The state's type.</typeparam>
    /// <param name="topic">The topic.</param>
    /// <param name="record">The record.</param>
    /// <param name="state">Passed to <paramref name="onDelivery"/> (first, as in <c>string.Create</c>: a lambda in its place would make the call ambiguous with the object-state overload).</param>
    /// <param name="onDelivery">Told the outcome.</param>
    /// <exception cref="ProduceException">The record could not be buffered; the handler is not called.</exception>
    /// <exception cref="ObjectDisposedException">The producer was disposed.</exception>
    public void Produce<TState>(string topic, ProducerRecord<TKey, TValue> record, TState state, DeliveryHandler<TState> onDelivery)
    {
        ArgumentNullException.ThrowIfNull(topic);
        ArgumentNullException.ThrowIfNull(onDelivery);
        var callback = DeliveryCallback<TState>.Rent(onDelivery, state);
        try
        {
            ProduceSerialized(topic, record, callback, null);
        }
        catch
        {
            callback.Abandon();
            throw;
        }
    }

    /// <summary>Sends every buffered record and completes when each is delivered or failed.</summary>
    /// <param name="cancellationToken">Stops waiting.</param>
    public Task FlushAsync(CancellationToken cancellationToken = default) => _producer.FlushAsync(cancellationToken);

    /// <summary>Disposes the underlying producer if this instance created it.</summary>
    /// <returns>When it is disposed.</returns>
    public ValueTask DisposeAsync() => _ownsProducer ? _producer.DisposeAsync() : ValueTask.CompletedTask;

    private void ProduceSerialized(string topic, in ProducerRecord<TKey, TValue> record, object? onDelivery, object? state)
    {
        var nulls = Serialize(record.Key, record.Value, out var keyBytes, out var valueBytes);
        var rented = KafkaProducer.HeaderSpan(record.Headers, out var headerSpan);
        try
        {
            _producer.ProduceBlocking(topic, keyBytes, valueBytes, nulls, headerSpan, record.Partition ?? -1,
                record.Timestamp?.UnixTimeMilliseconds ?? KafkaProducer.NowMs(), onDelivery, state);
        }
        finally
        {
            KafkaProducer.ReturnHeaders(rented);
        }
    }

    private RecordNulls Serialize(TKey key, TValue value, out ReadOnlySpan<byte> keyBytes, out ReadOnlySpan<byte> valueBytes)
    {
        var nulls = RecordNulls.None;
        keyBytes = default;
        valueBytes = default;
        if (key is null)
        {
            nulls |= RecordNulls.Key;
        }
        else
        {
            var buffer = _keyBuffer ??= new ArrayBufferWriter<byte>(256);
            buffer.ResetWrittenCount();
            _keySerializer.Serialize(key, buffer);
            keyBytes = buffer.WrittenSpan;
        }

        if (value is null)
        {
            nulls |= RecordNulls.Value;
        }
        else
        {
            var buffer = _valueBuffer ??= new ArrayBufferWriter<byte>(1024);
            buffer.ResetWrittenCount();
            _valueSerializer.Serialize(value, buffer);
            valueBytes = buffer.WrittenSpan;
        }

        return nulls;
    }
}
