using System.Globalization;

namespace Messaging;

/// <summary>
/// The broker does not offer an API this client needs, or offers it only at versions this client does not implement.
/// The message names the API and the version ranges on both sides.
/// </summary>
public sealed class UnsupportedApiVersionException : KafkaException
{
    /// <summary>Creates an exception with a generic message.</summary>
    public UnsupportedApiVersionException()
        : base("The broker does not support a required API version.", isRetriable: false)
    {
    }

    /// <summary>Creates an exception with the given message.</summary>
    /// <param name="message">The message text.</param>
    public UnsupportedApiVersionException(string message)
        : base(message, isRetriable: false)
    {
    }

    /// <summary>Creates an exception with the given message and inner exception.</summary>
    /// <param name="message">The message text.</param>
    /// <param name="innerException">The cause.</param>
    public UnsupportedApiVersionException(string message, Exception innerException)
        : base(message, isRetriable: false, innerException)
    {
    }

    /// <summary>Creates an exception describing both sides' ranges.</summary>
    /// <param name="apiKey">The API.</param>
    /// <param name="clientMinVersion">The lowest version this client implements.</param>
    /// <param name="clientMaxVersion">The highest version this client implements.</param>
    /// <param name="brokerMinVersion">The lowest version the broker offers, or null if it does not offer the API.</param>
    /// <param name="brokerMaxVersion">The highest version the broker offers, or null if it does not offer the API.</param>
    public UnsupportedApiVersionException(ApiKey apiKey, short clientMinVersion, short clientMaxVersion, short? brokerMinVersion, short? brokerMaxVersion)
        : base(Format(apiKey, clientMinVersion, clientMaxVersion, brokerMinVersion, brokerMaxVersion), isRetriable: false)
    {
        ApiKey = apiKey;
        ClientMinVersion = clientMinVersion;
        ClientMaxVersion = clientMaxVersion;
        BrokerMinVersion = brokerMinVersion;
        BrokerMaxVersion = brokerMaxVersion;
    }

    /// <summary>The API.</summary>
    public ApiKey ApiKey { get; }

    /// <summary>The lowest version this client implements.</summary>
    public short ClientMinVersion { get; }

    /// <summary>The highest version this client implements.</summary>
    public short ClientMaxVersion { get; }

    /// <summary>The lowest version the broker offers, or null if the broker does not offer the API.</summary>
    public short? BrokerMinVersion { get; }

    /// <summary>The highest version the broker offers, or null if the broker does not offer the API.</summary>
    public short? BrokerMaxVersion { get; }

    private static string Format(ApiKey apiKey, short clientMin, short clientMax, short? brokerMin, short? brokerMax)
    {
        string api = apiKey.ToString() + " (API key " + ((short)apiKey).ToString(CultureInfo.InvariantCulture) + ")";
        string ours = "this client implements versions " + clientMin.ToString(CultureInfo.InvariantCulture) + " to " + clientMax.ToString(CultureInfo.InvariantCulture);
        return brokerMin is { } bMin && brokerMax is { } bMax
            ? "The broker supports " + api + " only at versions " + bMin.ToString(CultureInfo.InvariantCulture) + " to " +
              bMax.ToString(CultureInfo.InvariantCulture) + ", but " + ours + "; the ranges do not overlap."
            : "The broker does not offer " + api + "; " + ours + ".";
    }
}
