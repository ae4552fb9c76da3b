namespace Messaging.Rpc;

/// <summary>Replies through the server's producer: <c>ProduceAsync</c> completes on the broker's acknowledgement, from a pooled source.</summary>
internal sealed class ProducerReplySink(KafkaProducer producer) : IReplySink
{
    public ValueTask<DeliveryResult> SendAsync(string topic, int? partition, ReadOnlyMemory<byte>? key, ReadOnlyMemory<byte> value, RecordHeader[] headers) =>
        producer.ProduceAsync(topic, key, value, headers, partition);
}
