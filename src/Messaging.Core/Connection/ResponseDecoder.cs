using Messaging.Protocol;

namespace Messaging.Connection;

/// <summary>Decodes a response frame that came off a connection.</summary>
/// <remarks>
/// Bytes left over after a complete, well-formed body are ignored, not treated as an error: the frame's size
/// prefix already bounds them, nothing is read past the body, and real peers send them — librdkafka's mock cluster
/// appends one byte to every flexible Metadata response. A body that ends early or is malformed still throws
/// <see cref="KafkaProtocolException"/>. A null where the schema has a non-nullable string, bytes or array reads as
/// empty (<see cref="KafkaReader.NullAsEmpty"/>): the mock cluster sends that in its error answers.
/// </remarks>
internal static class ResponseDecoder
{
    public static TResponse Decode<TResponse>(ResponseFrame frame, short version, ProtocolLimits limits)
        where TResponse : IKafkaMessage<TResponse>
    {
        var reader = new KafkaReader(frame.Memory, limits) { NullAsEmpty = true };
        ResponseHeader.Read(ref reader, ResponseHeader.VersionFor(TResponse.ApiKey, TResponse.IsFlexible(version)));
        return TResponse.Read(ref reader, version);
    }
}
