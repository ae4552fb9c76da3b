using System.Globalization;

namespace Messaging.Connection;

/// <summary>A broker's address, and its node id once metadata named it (-1 for a bootstrap server).</summary>
internal readonly record struct BrokerEndpoint(string Host, int Port, int NodeId = -1)
{
    /// <summary>How errors and logs name it: <c>broker 1 (host:port)</c> or <c>bootstrap host:port</c>.</summary>
    public string DisplayName => NodeId >= 0
        ? "broker " + NodeId.ToString(CultureInfo.InvariantCulture) + " (" + Host + ":" + Port.ToString(CultureInfo.InvariantCulture) + ")"
        : "bootstrap " + Host + ":" + Port.ToString(CultureInfo.InvariantCulture);

    /// <summary>Parses <c>host:port[,host:port...]</c>; IPv6 hosts go in brackets (<c>[::1]:9092</c>); a listener prefix (<c>PLAINTEXT://</c>) is skipped.</summary>
    public static BrokerEndpoint[] ParseList(string servers)
    {
        ArgumentNullException.ThrowIfNull(servers);
        var parts = servers.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0)
        {
            throw new ArgumentException("No bootstrap server given: expected host:port[,host:port...].", nameof(servers));
        }

        var result = new BrokerEndpoint[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            result[i] = Parse(parts[i]);
        }

        return result;
    }

    private static BrokerEndpoint Parse(string server)
    {
        // A listener's address copied with its security protocol (PLAINTEXT://host:9092): the prefix is not part of the
        // host, as the Java client and librdkafka read it; the protocol itself is a setting of its own.
        var scheme = server.IndexOf("://", StringComparison.Ordinal);
        var address = scheme >= 0 ? server[(scheme + 3)..] : server;
        var colon = address.LastIndexOf(':');
        if (colon <= 0 || colon == address.Length - 1
            || !int.TryParse(address.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new ArgumentException("'" + server + "' is not host:port with a port from 1 to 65535.", nameof(server));
        }

        var host = address[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        return new BrokerEndpoint(host, port);
    }
}
