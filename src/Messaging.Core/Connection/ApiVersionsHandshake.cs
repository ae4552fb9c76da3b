using System.Buffers.Binary;
using Messaging.Errors;
using Messaging.Protocol.Messages;

namespace Messaging.Connection;

/// <summary>
/// The first exchange on every connection: ApiVersions at the newest version we speak (v3+ carries our software name
/// and version, KIP-511), then per-API version choice by <see cref="ApiVersionNegotiation"/>.
/// </summary>
/// <remarks>
/// A broker that does not speak our ApiVersions version answers UNSUPPORTED_VERSION with a body it can still
/// write: Kafka writes the v0 layout (int32 array count) listing its own ApiVersions range, and we retry with the
/// highest version both sides speak, as the Java client does. librdkafka's mock cluster (our embedded broker,
/// ApiVersions up to v2) writes the array count as a single byte instead; that layout is recognised too. When
/// neither parses, we fall back to v0, which every broker speaks.
/// </remarks>
internal static class ApiVersionsHandshake
{
    private const int MaxAttempts = 3;

    public static async Task<(NegotiatedApiVersions Versions, short Version)> RunAsync(BrokerConnection connection, ConnectionSettings settings, CancellationToken cancellationToken)
    {
        var version = ApiVersionsRequest.MaxVersion;
        for (var attempt = 1; ; attempt++)
        {
            var request = new ApiVersionsRequest
            {
                ClientSoftwareName = version >= 3 ? ConnectionSettings.SoftwareName : "",
                ClientSoftwareVersion = version >= 3 ? ConnectionSettings.SoftwareVersion : "",
            };
            using var frame = await connection.SendAsync(request, version, settings.ConnectTimeout, cancellationToken).ConfigureAwait(false);

            // The ApiVersions response header is always v0 (a correlation id only), whatever the request version.
            var body = frame.Memory.Span[4..];
            if (body.Length < 2)
            {
                throw new KafkaProtocolException("ApiVersionsResponse", "ErrorCode", 4, "the response ends before its error code");
            }

            var error = (ErrorCode)BinaryPrimitives.ReadInt16BigEndian(body);
            if (error == ErrorCode.UnsupportedVersion && version > 0 && attempt < MaxAttempts)
            {
                var retry = Math.Min((short)(version - 1), AdvertisedApiVersionsMax(body) ?? 0);
                settings.Log.ApiVersionsFallback(connection.Name, version, retry);
                version = retry;
                continue;
            }

            var response = ResponseDecoder.Decode<ApiVersionsResponse>(frame, version, settings.Limits);

            // Read from the raw frame, so reported here (KIP-219): the broker mutes the new connection for that long, and
            // a request sent meanwhile would only wait in it, its timeout running.
            connection.ReportThrottle(ApiKey.ApiVersions, response.ThrottleTimeMs);
            if (response.ErrorCode != ErrorCode.None)
            {
                throw KafkaExceptions.BrokerError(response.ErrorCode, ApiKey.ApiVersions, connection.Name);
            }

            // Every client needs Metadata at a version we speak: a broker without it is too old (before Kafka 2.4) to use
            // at all, so the connection fails here, naming the API and both sides' ranges, instead of at first use.
            var negotiated = ApiVersionNegotiation.Negotiate(response);
            negotiated.EnsureSupported([ApiKey.Metadata]);
            return (negotiated, version);
        }
    }

    /// <summary>
    /// The highest ApiVersions version an UNSUPPORTED_VERSION reply advertises, from either layout brokers use
    /// (see remarks on the type); null when neither layout parses or the entry is missing.
    /// </summary>
    /// <param name="body">The response body, starting at its error code.</param>
    internal static short? AdvertisedApiVersionsMax(ReadOnlySpan<byte> body)
    {
        const int EntrySize = 6; // int16 api key, int16 min, int16 max

        // Kafka: int16 error, int32 count, count entries.
        if (body.Length >= 6)
        {
            var count = BinaryPrimitives.ReadInt32BigEndian(body[2..]);
            if (count >= 0 && count <= (body.Length - 6) / EntrySize && Find(body.Slice(6, count * EntrySize)) is { } kafkaMax)
            {
                return kafkaMax;
            }
        }

        // librdkafka's mock: int16 error, int8 count, count entries, int32 throttle time.
        if (body.Length >= 3)
        {
            int count = body[2];
            if (count <= (body.Length - 3) / EntrySize && Find(body.Slice(3, count * EntrySize)) is { } mockMax)
            {
                return mockMax;
            }
        }

        return null;

        static short? Find(ReadOnlySpan<byte> entries)
        {
            for (var i = 0; i + EntrySize <= entries.Length; i += EntrySize)
            {
                if (BinaryPrimitives.ReadInt16BigEndian(entries[i..]) == (short)ApiKey.ApiVersions)
                {
                    var max = BinaryPrimitives.ReadInt16BigEndian(entries[(i + 4)..]);
                    return max >= 0 ? max : null;
                }
            }

            return null;
        }
    }
}
