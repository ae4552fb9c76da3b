using Messaging.Protocol.Messages;
using Messaging.Protocol;

namespace Messaging.Connection;

/// <summary>
/// Picks, for every API this client implements, the highest version both sides support, from the broker's
/// ApiVersions response. The result is a per-broker table; ask it for a version with
/// <see cref="NegotiatedApiVersions.VersionFor"/>, which throws <see cref="UnsupportedApiVersionException"/> for an
/// API the broker does not offer at a version we implement.
/// </summary>
internal static class ApiVersionNegotiation
{
    /// <summary>Negotiates against <see cref="SupportedApis.All"/>.</summary>
    /// <param name="response">The broker's ApiVersions response. Its error code must be <see cref="ErrorCode.None"/>:
    /// handle <see cref="ErrorCode.UnsupportedVersion"/> (retry ApiVersions at the version the broker lists) first.</param>
    /// <returns>The negotiated table.</returns>
    /// <exception cref="ArgumentException">The response carries an error code.</exception>
    public static NegotiatedApiVersions Negotiate(ApiVersionsResponse response) => Negotiate(response, SupportedApis.All);

    /// <summary>Negotiates against the given client ranges.</summary>
    /// <param name="response">The broker's ApiVersions response, with error code <see cref="ErrorCode.None"/>.</param>
    /// <param name="ours">The ranges this client implements.</param>
    /// <returns>The negotiated table.</returns>
    /// <exception cref="ArgumentException">The response carries an error code.</exception>
    public static NegotiatedApiVersions Negotiate(ApiVersionsResponse response, IReadOnlyList<ApiVersionRange> ours)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(ours);
        if (response.ErrorCode != ErrorCode.None)
        {
            throw new ArgumentException(
                "The ApiVersions response carries error " + ErrorCodes.Name(response.ErrorCode) + "; handle it before negotiating.",
                nameof(response));
        }

        var broker = new List<ApiVersionRange>(response.ApiKeys.Length);
        foreach (ApiVersionsResponse.ApiVersion entry in response.ApiKeys)
        {
            broker.Add(new ApiVersionRange(entry.ApiKey, entry.MinVersion, entry.MaxVersion, -1));
        }

        return Negotiate(broker, ours);
    }

    /// <summary>Negotiates between explicit broker and client ranges.</summary>
    /// <param name="broker">The ranges the broker offers (its <see cref="ApiVersionRange.FirstFlexibleVersion"/> is ignored).</param>
    /// <param name="ours">The ranges this client implements.</param>
    /// <returns>The negotiated table.</returns>
    public static NegotiatedApiVersions Negotiate(IReadOnlyList<ApiVersionRange> broker, IReadOnlyList<ApiVersionRange> ours)
    {
        ArgumentNullException.ThrowIfNull(broker);
        ArgumentNullException.ThrowIfNull(ours);
        var result = new NegotiatedApiVersions();
        for (int i = 0; i < ours.Count; i++)
        {
            ApiVersionRange mine = ours[i];
            ApiVersionRange? theirs = null;
            for (int j = 0; j < broker.Count; j++)
            {
                if (broker[j].ApiKey == mine.ApiKey)
                {
                    theirs = broker[j];
                    break;
                }
            }

            result.Add(mine, theirs);
        }

        return result;
    }
}

/// <summary>The outcome of <see cref="ApiVersionNegotiation"/> for one broker: a version per API, or why there is none.</summary>
internal sealed class NegotiatedApiVersions
{
    private readonly Dictionary<ApiKey, Entry> _entries = [];

    internal NegotiatedApiVersions()
    {
    }

    /// <summary>The APIs that have a usable version.</summary>
    public IEnumerable<ApiKey> UsableApis
    {
        get
        {
            foreach (KeyValuePair<ApiKey, Entry> pair in _entries)
            {
                if (pair.Value.Version >= 0)
                {
                    yield return pair.Key;
                }
            }
        }
    }

    internal void Add(ApiVersionRange ours, ApiVersionRange? broker)
    {
        short version = -1;
        if (broker is { } b)
        {
            short high = Math.Min(ours.MaxVersion, b.MaxVersion);
            short low = Math.Max(ours.MinVersion, b.MinVersion);
            if (high >= low)
            {
                version = high;
            }
        }

        _entries[ours.ApiKey] = new Entry(ours, broker, version);
    }

    /// <summary>Gets the version to use for <paramref name="apiKey"/>, if there is one.</summary>
    /// <param name="apiKey">The API.</param>
    /// <param name="version">The highest version both sides support.</param>
    /// <returns>False if the API is not one this client implements, the broker does not offer it, or the ranges do not overlap.</returns>
    public bool TryGetVersion(ApiKey apiKey, out short version)
    {
        if (_entries.TryGetValue(apiKey, out Entry entry) && entry.Version >= 0)
        {
            version = entry.Version;
            return true;
        }

        version = -1;
        return false;
    }

    /// <summary>The version to use for <paramref name="apiKey"/>: the highest both sides support.</summary>
    /// <param name="apiKey">The API.</param>
    /// <returns>The version.</returns>
    /// <exception cref="UnsupportedApiVersionException">The broker does not offer the API, or not at a version this client implements.</exception>
    /// <exception cref="ArgumentException">The API is not one this client implements.</exception>
    public short VersionFor(ApiKey apiKey)
    {
        if (!_entries.TryGetValue(apiKey, out Entry entry))
        {
            throw new ArgumentException("API " + apiKey.ToString() + " is not one this client implements.", nameof(apiKey));
        }

        if (entry.Version < 0)
        {
            throw new UnsupportedApiVersionException(apiKey, entry.Ours.MinVersion, entry.Ours.MaxVersion, entry.Broker?.MinVersion, entry.Broker?.MaxVersion);
        }

        return entry.Version;
    }

    /// <summary>Throws for the first of <paramref name="required"/> that has no usable version.</summary>
    /// <param name="required">The APIs the caller cannot work without.</param>
    /// <exception cref="UnsupportedApiVersionException">One of them is unusable.</exception>
    public void EnsureSupported(ReadOnlySpan<ApiKey> required)
    {
        foreach (ApiKey key in required)
        {
            _ = VersionFor(key);
        }
    }

    private readonly record struct Entry(ApiVersionRange Ours, ApiVersionRange? Broker, short Version);
}
