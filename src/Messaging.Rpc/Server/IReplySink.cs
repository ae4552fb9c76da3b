namespace Messaging.Rpc;

/// <summary>Where the server's replies go: the reply producer, or a fake in tests.</summary>
internal interface IReplySink
{
    /// <summary>
    /// Sends a reply and completes when the broker acknowledged it. Key, value and header values must stay unchanged
    /// until then (they point into the request's pooled record and the reply's pooled stream).
    /// </summary>
    ValueTask<DeliveryResult> SendAsync(string topic, int? partition, ReadOnlyMemory<byte>? key, ReadOnlyMemory<byte> value, RecordHeader[] headers);
}
