namespace Messaging.Protocol;

/// <summary>
/// A Kafka request or response body that knows its API key, its supported version range and how to encode and
/// decode itself. The members are static where they describe the type, so code can dispatch through generic
/// helpers (<c>Encode&lt;TRequest&gt;(...)</c>) with no reflection and no virtual calls.
/// </summary>
/// <typeparam name="TSelf">The implementing type.</typeparam>
internal interface IKafkaMessage<TSelf>
    where TSelf : IKafkaMessage<TSelf>
{
    /// <summary>The API key.</summary>
    static abstract ApiKey ApiKey { get; }

    /// <summary>The lowest version the type encodes and decodes.</summary>
    static abstract short MinVersion { get; }

    /// <summary>The highest version the type encodes and decodes.</summary>
    static abstract short MaxVersion { get; }

    /// <summary>True when the version uses the flexible encoding (compact lengths, tagged fields).</summary>
    /// <param name="version">The version.</param>
    /// <returns>Whether the version is flexible.</returns>
    static abstract bool IsFlexible(short version);

    /// <summary>Reads a body (after the header) in the given version.</summary>
    /// <param name="reader">The reader.</param>
    /// <param name="version">The version.</param>
    /// <returns>The message.</returns>
    static abstract TSelf Read(ref KafkaReader reader, short version);

    /// <summary>Writes the body (without the header) in the given version.</summary>
    /// <param name="writer">The writer.</param>
    /// <param name="version">The version.</param>
    void Write(ref KafkaWriter writer, short version);
}

/// <summary>A request body whose response body is <typeparamref name="TResponse"/>.</summary>
/// <typeparam name="TSelf">The implementing type.</typeparam>
/// <typeparam name="TResponse">The response type.</typeparam>
#pragma warning disable CA1040 // Marker-style: it ties a request type to its response type for generic dispatch; the members are inherited.
internal interface IKafkaRequest<TSelf, TResponse> : IKafkaMessage<TSelf>
#pragma warning restore CA1040
    where TSelf : IKafkaRequest<TSelf, TResponse>
    where TResponse : IKafkaResponse<TResponse>
{
}

/// <summary>A response body.</summary>
/// <typeparam name="TSelf">The implementing type.</typeparam>
#pragma warning disable CA1040 // Marker-style: distinguishes responses from requests in generic constraints.
internal interface IKafkaResponse<TSelf> : IKafkaMessage<TSelf>
#pragma warning restore CA1040
    where TSelf : IKafkaResponse<TSelf>
{
}

/// <summary>A supported version range for one API.</summary>
/// <param name="ApiKey">The API.</param>
/// <param name="MinVersion">The lowest version.</param>
/// <param name="MaxVersion">The highest version.</param>
/// <param name="FirstFlexibleVersion">The first flexible version, or -1 if the API is never flexible.</param>
internal readonly record struct ApiVersionRange(ApiKey ApiKey, short MinVersion, short MaxVersion, short FirstFlexibleVersion);

/// <summary>A response whose body carries <c>throttle_time_ms</c>: how long the broker throttled the client (quota, KIP-219).</summary>
internal interface IThrottledResponse
{
    /// <summary>The time in milliseconds the request was throttled for, or 0.</summary>
    int ThrottleTimeMs { get; }
}
