using Messaging.Protocol;
using Messaging.Protocol.Messages;

namespace Messaging.Testing.Security;

/// <summary>
/// SaslAuthenticate at every version clients send: v2 (flexible) through the generated message, v0 and v1 (which
/// librdkafka uses) by hand — the client library itself only speaks v2.
/// </summary>
internal static class SaslAuthenticateCodec
{
    public static ReadOnlyMemory<byte> ReadAuthBytes(ReadOnlyMemory<byte> payload, short version)
    {
        if (version >= 2)
        {
            return KafkaFrames.ReadRequest<SaslAuthenticateRequest>(payload, null, out _).AuthBytes;
        }

        var reader = new KafkaReader(payload);
        _ = RequestHeader.Read(ref reader, 1);
        return reader.ReadBytes("AuthBytes");
    }

    public static void WriteResponse(ContiguousBufferWriter output, short version, int correlationId, ErrorCode error, string? message, byte[] authBytes, long sessionLifetimeMs)
    {
        if (version >= 2)
        {
            KafkaFrames.WriteResponse(output, new SaslAuthenticateResponse
            {
                ErrorCode = error,
                ErrorMessage = message,
                AuthBytes = authBytes,
                SessionLifetimeMs = sessionLifetimeMs,
            }, version, correlationId);
            return;
        }

        var writer = new KafkaWriter(output);
        var size = writer.ReserveInt32();
        writer.WriteInt32(correlationId);
        writer.WriteInt16((short)error);
        writer.WriteNullableString(message);
        writer.WriteBytes(authBytes);
        if (version == 1)
        {
            writer.WriteInt64(sessionLifetimeMs);
        }

        writer.WriteReservedInt32(size, writer.BytesSince(size));
        writer.Flush();
    }
}
