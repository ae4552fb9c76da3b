using System.Buffers.Binary;

namespace Messaging.Protocol;

/// <summary>
/// Whole frames: a big-endian int32 size, a request or response header, and a body. Generic over the message type,
/// so dispatch is static (no reflection, no virtual calls). Use <see cref="FrameReader"/> to find frame boundaries in
/// received bytes, then the <c>Read...</c> methods here on each frame's payload.
/// </summary>
internal static class KafkaFrames
{
    /// <summary>Appends one request frame: size prefix, header (version chosen from the body version), body.</summary>
    /// <typeparam name="TRequest">The request type.</typeparam>
    /// <param name="output">Where to write; contiguous so the size prefix can be filled in at the end.</param>
    /// <param name="request">The request body.</param>
    /// <param name="version">The body version.</param>
    /// <param name="correlationId">The correlation id.</param>
    /// <param name="clientId">The client id, or null.</param>
    /// <returns>The number of bytes appended, prefix included.</returns>
    public static int WriteRequest<TRequest>(IContiguousBufferWriter output, TRequest request, short version, int correlationId, string? clientId)
        where TRequest : IKafkaMessage<TRequest>
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!typeof(TRequest).IsValueType)
        {
            // Only reference types can be null; the guard keeps the check from boxing struct requests (before the
            // JIT optimizes this method, a plain null check boxes them on every call).
            ArgumentNullException.ThrowIfNull(request);
        }
        var writer = new KafkaWriter(output);
        Int32Slot size = writer.ReserveInt32();
        new RequestHeader(TRequest.ApiKey, version, correlationId, clientId)
            .Write(ref writer, RequestHeader.VersionFor(TRequest.IsFlexible(version)));
        request.Write(ref writer, version);
        writer.WriteReservedInt32(size, writer.BytesSince(size));
        writer.Flush();
        return checked((int)writer.BytesWritten);
    }

    /// <summary>Appends one response frame: size prefix, header, body (what a broker sends; used by test brokers).</summary>
    /// <typeparam name="TResponse">The response type.</typeparam>
    /// <param name="output">Where to write.</param>
    /// <param name="response">The response body.</param>
    /// <param name="version">The body version.</param>
    /// <param name="correlationId">The correlation id of the request being answered.</param>
    /// <returns>The number of bytes appended, prefix included.</returns>
    public static int WriteResponse<TResponse>(IContiguousBufferWriter output, TResponse response, short version, int correlationId)
        where TResponse : IKafkaMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!typeof(TResponse).IsValueType)
        {
            ArgumentNullException.ThrowIfNull(response); // guarded as in WriteRequest: no boxing of struct responses
        }
        var writer = new KafkaWriter(output);
        Int32Slot size = writer.ReserveInt32();
        new ResponseHeader(correlationId).Write(ref writer, ResponseHeader.VersionFor(TResponse.ApiKey, TResponse.IsFlexible(version)));
        response.Write(ref writer, version);
        writer.WriteReservedInt32(size, writer.BytesSince(size));
        writer.Flush();
        return checked((int)writer.BytesWritten);
    }

    /// <summary>The correlation id of a response frame's payload (its first four bytes, in every header version).</summary>
    /// <param name="payload">The frame without its size prefix.</param>
    /// <returns>The correlation id.</returns>
    /// <exception cref="KafkaProtocolException">The payload is shorter than four bytes.</exception>
    public static int PeekCorrelationId(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < 4)
        {
            ThrowHelper.ThrowTruncated("ResponseHeader", "CorrelationId", 0, 4, payload.Length);
        }

        return BinaryPrimitives.ReadInt32BigEndian(payload);
    }

    /// <summary>
    /// Decodes a response frame's payload: header, then body; the body's <c>bytes</c>/<c>records</c> fields are slices
    /// of <paramref name="payload"/> (keep it alive while they are in use). Every byte must be consumed.
    /// </summary>
    /// <typeparam name="TResponse">The response type.</typeparam>
    /// <param name="payload">The frame without its size prefix.</param>
    /// <param name="version">The version the request was sent with.</param>
    /// <param name="limits">Decoding limits, or null for <see cref="ProtocolLimits.Default"/>.</param>
    /// <param name="correlationId">The correlation id from the header.</param>
    /// <returns>The response.</returns>
    /// <exception cref="KafkaProtocolException">The bytes are malformed.</exception>
    public static TResponse ReadResponse<TResponse>(ReadOnlyMemory<byte> payload, short version, ProtocolLimits? limits, out int correlationId)
        where TResponse : IKafkaMessage<TResponse>
    {
        var reader = new KafkaReader(payload, limits ?? ProtocolLimits.Default) { NullAsEmpty = true };
        correlationId = ResponseHeader.Read(ref reader, ResponseHeader.VersionFor(TResponse.ApiKey, TResponse.IsFlexible(version))).CorrelationId;
        TResponse response = TResponse.Read(ref reader, version);
        reader.EnsureEnd();
        return response;
    }

    /// <summary>Decodes a request frame's payload (what a broker receives; used by test brokers). Every byte must be consumed.</summary>
    /// <typeparam name="TRequest">The request type; must match the header's API key.</typeparam>
    /// <param name="payload">The frame without its size prefix.</param>
    /// <param name="limits">Decoding limits, or null for <see cref="ProtocolLimits.Default"/>.</param>
    /// <param name="header">The header.</param>
    /// <returns>The request.</returns>
    /// <exception cref="KafkaProtocolException">The bytes are malformed, or the header names another API or an unsupported version.</exception>
    public static TRequest ReadRequest<TRequest>(ReadOnlyMemory<byte> payload, ProtocolLimits? limits, out RequestHeader header)
        where TRequest : IKafkaMessage<TRequest>
    {
        ReadOnlySpan<byte> span = payload.Span;
        if (span.Length < 4)
        {
            ThrowHelper.ThrowTruncated("RequestHeader", "RequestApiVersion", 0, 4, span.Length);
        }

        var apiKey = (ApiKey)BinaryPrimitives.ReadInt16BigEndian(span);
        short version = BinaryPrimitives.ReadInt16BigEndian(span.Slice(2));
        if (apiKey != TRequest.ApiKey)
        {
            ThrowHelper.ThrowMalformed("RequestHeader", "RequestApiKey", 0, "expected API key " + TRequest.ApiKey + ", found " + apiKey);
        }

        if (version < TRequest.MinVersion || version > TRequest.MaxVersion)
        {
            ThrowHelper.ThrowMalformed("RequestHeader", "RequestApiVersion", 2, "version " + version.ToString(System.Globalization.CultureInfo.InvariantCulture) + " is outside the supported range");
        }

        var reader = new KafkaReader(payload, limits ?? ProtocolLimits.Default);
        header = RequestHeader.Read(ref reader, RequestHeader.VersionFor(TRequest.IsFlexible(version)));
        TRequest request = TRequest.Read(ref reader, version);
        reader.EnsureEnd();
        return request;
    }
}
