namespace Messaging.Rpc;

/// <summary>
/// Replies through the server's producer: <c>TryProduce</c> with a delivery handler (nothing allocated, the outcome
/// reported on the I/O thread), or <c>ProduceAsync</c>, which waits for metadata or memory without blocking a thread.
/// </summary>
internal sealed class ProducerReplySink(KafkaProducer producer) : IReplySink
{
    public bool TrySend(string topic, int? partition, ReadOnlyMemory<byte>? key, ReadOnlyMemory<byte> value, RecordHeader[] headers, ServerRequest request,
        DeliveryHandler<ServerRequest> onDelivered)
    {
        var record = new ProducerRecord
        {
            Key = key.GetValueOrDefault().Span,
            KeyIsNull = key is null,
            Value = value.Span,
            Headers = headers,
            Partition = partition,
        };
        return producer.TryProduce(topic, record, request, onDelivered);
    }

    public ValueTask<DeliveryResult> SendAsync(string topic, int? partition, ReadOnlyMemory<byte>? key, ReadOnlyMemory<byte> value, RecordHeader[] headers) =>
        producer.ProduceAsync(topic, key, value, headers, partition);
}
