namespace Messaging.Rpc;

/// <summary>
/// Replies through the server's producer: <c>TryProduce</c> with a delivery handler (nothing allocated, the outcome
/// reported on the I/O thread), or <c>ProduceAsync</c>, which waits for metadata or memory without blocking a thread.
/// </summary>
/// <remarks>
/// A reply topic the server has not produced to yet is looked up first (<see cref="KnownTopics"/>): the producer's
/// waiting path is one queue, and a reply waiting there for the metadata of a topic that does not exist (a caller
/// named a wrong one) would hold up every reply behind it for the producer's whole <c>MaxBlock</c>. A missing topic
/// fails the reply at once instead (counted as a reply failure).
/// </remarks>
internal sealed class ProducerReplySink(KafkaProducer producer, KnownTopics topics, TimeSpan lookupWait, TimeProvider time) : IReplySink
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

    /// <exception cref="RpcException">The reply topic does not exist, or could not be looked up within the wait.</exception>
    public async ValueTask<DeliveryResult> SendAsync(string topic, int? partition, ReadOnlyMemory<byte>? key, ReadOnlyMemory<byte> value, RecordHeader[] headers)
    {
        await topics.EnsureAsync(topic, "reply", time.GetTimestamp(), lookupWait, CancellationToken.None).ConfigureAwait(false);
        return await producer.ProduceAsync(topic, key, value, headers, partition).ConfigureAwait(false);
    }
}
