namespace Messaging.Protocol;

/// <summary>
/// The header in front of every response body. Version 0 is the correlation id alone; version 1 adds a tagged-field
/// section and is used with flexible response versions, except that ApiVersions responses always use version 0 (the
/// client must be able to read the header before it knows which versions the broker speaks).
/// </summary>
/// <param name="CorrelationId">The correlation id of the request this answers.</param>
internal readonly record struct ResponseHeader(int CorrelationId)
{
    /// <summary>The header version for a response: 0 for ApiVersions and for non-flexible versions, else 1.</summary>
    /// <param name="apiKey">The API.</param>
    /// <param name="flexible">Whether the response body version is flexible.</param>
    /// <returns>The header version.</returns>
    public static short VersionFor(ApiKey apiKey, bool flexible) =>
        apiKey == ApiKey.ApiVersions || !flexible ? (short)0 : (short)1;

    /// <summary>Writes the header.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="headerVersion">0 or 1.</param>
    public void Write(ref KafkaWriter writer, short headerVersion)
    {
        CheckVersion(headerVersion);
        writer.WriteInt32(CorrelationId);
        if (headerVersion >= 1)
        {
            writer.WriteEmptyTaggedFields();
        }
    }

    /// <summary>Reads a header; tagged fields are skipped.</summary>
    /// <param name="reader">The reader, at the start of the response (after the size prefix).</param>
    /// <param name="headerVersion">0 or 1.</param>
    /// <returns>The header.</returns>
    /// <exception cref="KafkaProtocolException">The bytes are malformed.</exception>
    public static ResponseHeader Read(ref KafkaReader reader, short headerVersion)
    {
        CheckVersion(headerVersion);
        reader.MessageName = "ResponseHeader";
        int correlationId = reader.ReadInt32("CorrelationId");
        if (headerVersion >= 1)
        {
            reader.SkipTaggedFields();
        }

        return new ResponseHeader(correlationId);
    }

    private static void CheckVersion(short headerVersion)
    {
        if (headerVersion is < 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(headerVersion), headerVersion, "Response header versions 0 and 1 are supported.");
        }
    }
}
