using Messaging.Connection;
using Messaging.Security;
using Messaging.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Messaging;

/// <summary>
/// Settings every client (admin, producer, consumer) shares: where the cluster is and how connections behave.
/// Names follow Kafka's documented client configuration; durations are <see cref="TimeSpan"/>s. Validated once,
/// when a client is built.
/// </summary>
public class KafkaClientOptions : IConnectionOptions
{
    /// <summary><c>bootstrap.servers</c>: <c>host:port[,host:port...]</c> to find the cluster through. Required.</summary>
    public string BootstrapServers { get; set; } = "";

    /// <summary><c>client.id</c>: sent with every request, shown in broker logs and quotas. Default <c>messaging</c>.</summary>
    public string ClientId { get; set; } = "messaging";

    /// <summary><c>request.timeout.ms</c>: how long a request may wait for its response before it fails and its connection is closed. Default 30 s.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary><c>socket.connection.setup.timeout.ms</c>: how long connecting (TCP and the ApiVersions handshake) may take. Default 10 s.</summary>
    public TimeSpan SocketConnectionSetupTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Requests that may be in flight on one connection (pipelining depth). Default 5, at least 1.</summary>
    public int MaxInFlightRequestsPerConnection { get; set; } = 5;

    /// <summary><c>send.buffer.bytes</c>: the socket send buffer; 0 leaves the operating system's default. Default 0.</summary>
    public int SocketSendBufferBytes { get; set; }

    /// <summary><c>receive.buffer.bytes</c>: the socket receive buffer; 0 leaves the operating system's default. Default 0.</summary>
    public int SocketReceiveBufferBytes { get; set; }

    /// <summary>
    /// The largest response accepted (like <c>socket.request.max.bytes</c>): a larger size prefix closes the
    /// connection with a protocol error and allocates nothing. Default 100 MiB.
    /// </summary>
    public int MaxResponseBytes { get; set; } = 100 * 1024 * 1024;

    /// <summary><c>reconnect.backoff.ms</c>: the first wait before reconnecting to a broker that failed. Default 50 ms.</summary>
    public TimeSpan ReconnectBackoff { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary><c>reconnect.backoff.max.ms</c>: the longest wait; the backoff doubles up to it, with ±20% jitter. Default 1 s.</summary>
    public TimeSpan ReconnectBackoffMax { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary><c>connections.max.idle.ms</c>: idle connections are closed after this. Default 9 minutes.</summary>
    public TimeSpan ConnectionsMaxIdle { get; set; } = TimeSpan.FromMinutes(9);

    /// <summary><c>metadata.max.age.ms</c>: cluster metadata is refreshed at least this often. Default 5 minutes.</summary>
    public TimeSpan MetadataMaxAge { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary><c>allow.auto.create.topics</c>: let a Metadata request create a topic it names that does not exist. Default false.</summary>
    public bool AllowAutoCreateTopics { get; set; }

    /// <summary>
    /// Opens the byte stream every broker connection runs over. Default: <see cref="SocketTransportFactory.Instance"/>,
    /// plain TCP with <c>TCP_NODELAY</c> and the socket buffer sizes above. Replace it to wrap the stream (TLS, byte
    /// counting or fault injection in tests); the factory is called once per connection attempt, within
    /// <see cref="SocketConnectionSetupTimeout"/>, and its failures are retried with the reconnect backoff.
    /// </summary>
    public IKafkaTransportFactory TransportFactory { get; set; } = SocketTransportFactory.Instance;

    /// <summary>
    /// <c>security.protocol</c>: plain TCP (the default), TLS, SASL, or SASL over TLS. TLS settings are in
    /// <see cref="Ssl"/>, SASL settings in <see cref="Sasl"/>; TLS wraps whatever <see cref="TransportFactory"/> opens.
    /// </summary>
    public SecurityProtocol SecurityProtocol { get; set; } = SecurityProtocol.Plaintext;

    /// <summary>TLS settings (<c>ssl.*</c>), used with <see cref="Messaging.SecurityProtocol.Ssl"/> and <see cref="Messaging.SecurityProtocol.SaslSsl"/>.</summary>
    public SslOptions Ssl { get; set; } = new();

    /// <summary>SASL settings (<c>sasl.*</c>), used with <see cref="Messaging.SecurityProtocol.SaslPlaintext"/> and <see cref="Messaging.SecurityProtocol.SaslSsl"/>.</summary>
    public SaslOptions Sasl { get; set; } = new();

    /// <summary>Where the client logs (connects, disconnects, backoff, metadata changes, throttling). Default: nowhere.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;

    /// <summary>
    /// Where the client reads the time: every timeout, linger, backoff and deadline (request and delivery timeouts,
    /// <c>linger.ms</c>, retry and reconnect backoff, idle connections, metadata age, throttling) counts on it.
    /// Default: <see cref="TimeProvider.System"/>, whose lingers and deadlines fire to within a fraction of a
    /// millisecond. Replace it in tests with a fake clock (such as <c>Microsoft.Extensions.Time.Testing.FakeTimeProvider</c>)
    /// to drive time-dependent behaviour by advancing it; with any provider other than the system's, deadlines are
    /// served by the provider's timers. Record timestamps and metrics durations keep the system clock.
    /// </summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Checks every setting and throws <see cref="ArgumentException"/> naming the first that is wrong.</summary>
    public virtual void Validate()
    {
        if (string.IsNullOrWhiteSpace(BootstrapServers))
        {
            throw new ArgumentException("BootstrapServers (bootstrap.servers) is required: host:port[,host:port...].", nameof(BootstrapServers));
        }

        try
        {
            _ = BrokerEndpoint.ParseList(BootstrapServers);
        }
        catch (ArgumentException e)
        {
            // Named after the setting, not the parser's parameter, so a configuration error points at its key.
            throw new ArgumentException("BootstrapServers (bootstrap.servers): " + e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal), nameof(BootstrapServers), e);
        }
        RequirePositive(RequestTimeout, nameof(RequestTimeout));
        RequirePositive(SocketConnectionSetupTimeout, nameof(SocketConnectionSetupTimeout));
        RequirePositive(ReconnectBackoff, nameof(ReconnectBackoff));
        RequirePositive(ConnectionsMaxIdle, nameof(ConnectionsMaxIdle));
        RequirePositive(MetadataMaxAge, nameof(MetadataMaxAge));
        if (ReconnectBackoffMax < ReconnectBackoff)
        {
            throw new ArgumentException("ReconnectBackoffMax must be at least ReconnectBackoff.", nameof(ReconnectBackoffMax));
        }

        if (MaxInFlightRequestsPerConnection is < 1 or > 1024)
        {
            throw new ArgumentException("MaxInFlightRequestsPerConnection must be between 1 and 1024.", nameof(MaxInFlightRequestsPerConnection));
        }

        if (MaxResponseBytes < 1024)
        {
            throw new ArgumentException("MaxResponseBytes must be at least 1024.", nameof(MaxResponseBytes));
        }

        if (SocketSendBufferBytes < 0)
        {
            throw new ArgumentException("SocketSendBufferBytes (send.buffer.bytes) must be 0 (system default) or positive.", nameof(SocketSendBufferBytes));
        }

        if (SocketReceiveBufferBytes < 0)
        {
            throw new ArgumentException("SocketReceiveBufferBytes (receive.buffer.bytes) must be 0 (system default) or positive.", nameof(SocketReceiveBufferBytes));
        }

        ArgumentNullException.ThrowIfNull(LoggerFactory);
        if (TimeProvider is null)
        {
            throw new ArgumentException("TimeProvider is required (the default is TimeProvider.System).", nameof(TimeProvider));
        }
        if (TransportFactory is null)
        {
            throw new ArgumentException("TransportFactory is required (the default is SocketTransportFactory.Instance).", nameof(TransportFactory));
        }

        ConnectionSecurity.Validate(SecurityProtocol, Ssl, Sasl);
    }

    private static void RequirePositive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentException(name + " must be positive.", name);
        }
    }
}
