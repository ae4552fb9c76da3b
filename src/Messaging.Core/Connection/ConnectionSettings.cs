using System.Reflection;
using Messaging.Diagnostics;
using Messaging.Protocol;
using Messaging.Threading;
using Messaging.Transport;
using Microsoft.Extensions.Logging;

namespace Messaging.Connection;

/// <summary>The validated, immutable connection settings derived once from the client options.</summary>
internal sealed class ConnectionSettings
{
    /// <summary>What we tell brokers we are (ApiVersions v3+, KIP-511).</summary>
    public const string SoftwareName = "messaging-dotnet";

    public static readonly string SoftwareVersion = SoftwareVersionOf(typeof(ConnectionSettings).Assembly);

    public ConnectionSettings(IConnectionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        ClientId = options.ClientId;
        ClientTag = new KeyValuePair<string, object?>(KafkaTelemetry.ClientIdTag, ClientId);
        RequestTimeout = options.RequestTimeout;
        ConnectTimeout = options.SocketConnectionSetupTimeout;
        MaxInFlight = options.MaxInFlightRequestsPerConnection;
        SendBufferBytes = options.SocketSendBufferBytes;
        ReceiveBufferBytes = options.SocketReceiveBufferBytes;
        MaxResponseBytes = options.MaxResponseBytes;
        ReconnectBackoff = options.ReconnectBackoff;
        ReconnectBackoffMax = options.ReconnectBackoffMax;
        ConnectionsMaxIdle = options.ConnectionsMaxIdle;
        TransportFactory = options.TransportFactory;
        Clock = new Clock(options.TimeProvider);
        Log = new KafkaLog(GuardedLogger.Create(options.LoggerFactory, "Messaging.Connection"));
    }

    public string ClientId { get; }

    /// <summary>The <c>client.id</c> tag every connection measurement carries (made once: tagging boxes nothing).</summary>
    public KeyValuePair<string, object?> ClientTag { get; }

    public TimeSpan RequestTimeout { get; }

    public TimeSpan ConnectTimeout { get; }

    public int MaxInFlight { get; }

    public int SendBufferBytes { get; }

    public int ReceiveBufferBytes { get; }

    public int MaxResponseBytes { get; }

    public TimeSpan ReconnectBackoff { get; }

    public TimeSpan ReconnectBackoffMax { get; }

    public TimeSpan ConnectionsMaxIdle { get; }

    /// <summary>Where connections read the time (request timeouts, backoff, idleness, throttling).</summary>
    public Clock Clock { get; }

    /// <summary>
    /// Opens the byte stream each connection runs over (a TCP socket by default); the cluster client sets a TLS
    /// factory around the configured one when the security protocol asks for TLS.
    /// </summary>
    public IKafkaTransportFactory TransportFactory { get; init; }

    /// <summary>
    /// Runs on every new connection after ApiVersions and before anyone else may use it; null (the default) for
    /// brokers that need no authentication.
    /// </summary>
    public IConnectionAuthenticator? Authenticator { get; init; }

    public ProtocolLimits Limits { get; } = ProtocolLimits.Default;

    /// <summary>Where connections log (the application's logger, guarded: <see cref="GuardedLogger"/>).</summary>
    public KafkaLog Log { get; init; }

    public KafkaMetrics Metrics { get; } = KafkaMetrics.Shared;

    /// <summary>What the transport factory is told about a connection to <paramref name="endpoint"/>.</summary>
    public KafkaTransportContext TransportContextFor(BrokerEndpoint endpoint) => new(endpoint.Host, endpoint.Port)
    {
        NodeId = endpoint.NodeId,
        BrokerName = endpoint.DisplayName,
        SocketSendBufferBytes = SendBufferBytes,
        SocketReceiveBufferBytes = ReceiveBufferBytes,
    };

    private static string SoftwareVersionOf(Assembly assembly)
    {
        // KIP-511 allows [a-zA-Z0-9.-] and requires it to start and end with an alphanumeric.
        var version = assembly.GetName().Version?.ToString(3) ?? "0.0.0";
        return version;
    }
}
