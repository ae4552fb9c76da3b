namespace Messaging.Protocol;

/// <summary>
/// The header in front of every request body. Version 1: api key, api version, correlation id, client id (a nullable
/// string that keeps its classic int16 length even in version 2, so any broker can read the header of any
/// ApiVersions request). Version 2 adds a tagged-field section and is used with every flexible request version.
/// Version 0 (no client id) is only used by ControlledShutdown v0, which this client does not send.
/// </summary>
/// <param name="ApiKey">The API.</param>
/// <param name="ApiVersion">The version of the body that follows.</param>
/// <param name="CorrelationId">The id the broker echoes in the response header.</param>
/// <param name="ClientId">The client id, or null.</param>
internal readonly record struct RequestHeader(ApiKey ApiKey, short ApiVersion, int CorrelationId, string? ClientId)
{
    /// <summary>The header version for a request body version: 2 when the body is flexible, else 1.</summary>
    /// <param name="flexible">Whether the request body version is flexible.</param>
    /// <returns>The header version.</returns>
    public static short VersionFor(bool flexible) => flexible ? (short)2 : (short)1;

    /// <summary>Writes the header.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="headerVersion">1 or 2.</param>
    public void Write(ref KafkaWriter writer, short headerVersion)
    {
        CheckVersion(headerVersion);
        writer.WriteInt16((short)ApiKey);
        writer.WriteInt16(ApiVersion);
        writer.WriteInt32(CorrelationId);
        writer.WriteNullableString(ClientId);
        if (headerVersion >= 2)
        {
            writer.WriteEmptyTaggedFields();
        }
    }

    /// <summary>Reads a header; unknown tagged fields are skipped.</summary>
    /// <param name="reader">The reader, at the start of the request (after the size prefix).</param>
    /// <param name="headerVersion">1 or 2.</param>
    /// <returns>The header.</returns>
    /// <exception cref="KafkaProtocolException">The bytes are malformed.</exception>
    public static RequestHeader Read(ref KafkaReader reader, short headerVersion)
    {
        CheckVersion(headerVersion);
        reader.MessageName = "RequestHeader";
        var apiKey = (ApiKey)reader.ReadInt16("RequestApiKey");
        short apiVersion = reader.ReadInt16("RequestApiVersion");
        int correlationId = reader.ReadInt32("CorrelationId");
        string? clientId = reader.ReadNullableString("ClientId");
        if (headerVersion >= 2)
        {
            reader.SkipTaggedFields();
        }

        return new RequestHeader(apiKey, apiVersion, correlationId, clientId);
    }

    private static void CheckVersion(short headerVersion)
    {
        if (headerVersion is < 1 or > 2)
        {
            throw new ArgumentOutOfRangeException(nameof(headerVersion), headerVersion, "Request header versions 1 and 2 are supported.");
        }
    }
}
