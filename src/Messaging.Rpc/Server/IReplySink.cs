namespace Messaging.Rpc;

/// <summary>Where the server's replies go: the reply producer, or a fake in tests.</summary>
/// <remarks>
/// Key, value and header values point into the request's pooled record and the reply's pooled stream: <see cref="TrySend"/>
/// copies them before it returns; for <see cref="SendAsync"/> they must stay unchanged until it completes.
/// </remarks>
internal interface IReplySink
{
    /// <summary>
    /// Sends a reply if it can be buffered at once, and reports its acknowledgement (or failure) to
    /// <paramref name="onDelivered"/> with <paramref name="request"/>, on the producer's I/O thread. False when it would
    /// have to wait (nothing sent, the handler not called).
    /// </summary>
    /// <param name="topic">The reply topic.</param>
    /// <param name="partition">The reply partition, or null for the partitioner's choice.</param>
    /// <param name="key">The request's key, copied onto the reply.</param>
    /// <param name="value">The reply payload.</param>
    /// <param name="headers">The reply headers.</param>
    /// <param name="request">The request the reply answers, passed to <paramref name="onDelivered"/>.</param>
    /// <param name="onDelivered">Told the outcome; quick, never blocking.</param>
    bool TrySend(string topic, int? partition, ReadOnlyMemory<byte>? key, ReadOnlyMemory<byte> value, RecordHeader[] headers, ServerRequest request,
        DeliveryHandler<ServerRequest> onDelivered);

    /// <summary>Sends a reply, waiting for metadata or memory if needed, and completes when the broker acknowledged it.</summary>
    ValueTask<DeliveryResult> SendAsync(string topic, int? partition, ReadOnlyMemory<byte>? key, ReadOnlyMemory<byte> value, RecordHeader[] headers);
}
