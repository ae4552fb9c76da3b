using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Messaging.Testing.Security;

/// <summary>
/// An in-process, Kafka-aware proxy in front of a cluster (an <see cref="EmbeddedKafkaCluster"/>, typically): one
/// listener per broker, broker addresses in Metadata and FindCoordinator responses rewritten to the proxy's, so
/// clients reach every broker through it. It can terminate TLS and authenticate SASL (PLAIN, SCRAM-SHA-256/512,
/// OAUTHBEARER) the way a broker does, and inject network faults per broker (<see cref="ProxyFaults"/>).
/// </summary>
/// <remarks>
/// Behind the proxy the cluster is plain: the proxy answers SaslHandshake and SaslAuthenticate itself and adds them to
/// the ApiVersions it passes on. It advertises itself as <c>localhost</c>, the name <see cref="TestCertificateAuthority"/>
/// certificates are issued for. In front of an <see cref="EmbeddedKafkaCluster"/>, it can also answer CreateTopics and
/// DeleteTopics, which the embedded cluster lacks (<see cref="KafkaProxyOptions.AnswerTopicAdministration"/>).
/// Disposing closes every listener and connection.
/// </remarks>
public sealed class KafkaProxy : IAsyncDisposable
{
    private readonly List<ProxyListener> _listeners = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _disposeLock = new();
    private Task? _disposing;

    private KafkaProxy(KafkaProxyOptions options, TopicAdministration? topicAdministration)
    {
        Options = options;
        TopicAdministration = topicAdministration;
    }

    /// <summary>What the proxy asks of clients.</summary>
    public KafkaProxyOptions Options { get; }

    /// <summary>Wakes the Fetches held for records (<see cref="KafkaProxyOptions.AnswerFetchesOnArrival"/>) when any connection passes back a write.</summary>
    internal RecordArrivals RecordArrivals { get; } = new();

    /// <summary>Answers CreateTopics and DeleteTopics when <see cref="KafkaProxyOptions.AnswerTopicAdministration"/> is set; null otherwise.</summary>
    internal TopicAdministration? TopicAdministration { get; }

    /// <summary><c>localhost:port</c> of every listener, for a client's bootstrap servers.</summary>
    public string BootstrapServers => string.Join(",", _listeners.Select(l => "localhost:" + l.Port.ToString(CultureInfo.InvariantCulture)));

    /// <summary>The listeners, in the order of the upstream bootstrap servers (broker 1 first for an embedded cluster).</summary>
    public IReadOnlyList<ProxyListener> Brokers => _listeners;

    /// <summary>Bytes passed to brokers, over every listener.</summary>
    public long BytesToBrokers => _listeners.Sum(l => l.Faults.BytesToBroker);

    /// <summary>Connections accepted, over every listener.</summary>
    public int Connections => _listeners.Sum(l => l.Faults.Connections);

    /// <summary>Re-authentications on open connections (KIP-368), over every listener.</summary>
    public int Reauthentications => _listeners.Sum(l => l.Faults.Reauthentications);

    /// <summary>Connections closed because a request came after their SASL session ended, over every listener.</summary>
    public int ExpiredSessions => _listeners.Sum(l => l.Faults.ExpiredSessions);

    /// <summary>Starts a proxy with a listener for each of <paramref name="upstreamBootstrapServers"/> (<c>host:port,...</c>).</summary>
    /// <exception cref="ArgumentException"><see cref="KafkaProxyOptions.AnswerTopicAdministration"/> is set: it needs the
    /// <see cref="EmbeddedKafkaCluster"/> itself (<see cref="Start(EmbeddedKafkaCluster, KafkaProxyOptions?)"/>).</exception>
    public static KafkaProxy Start(string upstreamBootstrapServers, KafkaProxyOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(upstreamBootstrapServers);
        if (options?.AnswerTopicAdministration == true)
        {
            throw new ArgumentException(
                "AnswerTopicAdministration creates and deletes topics through the embedded cluster's native calls: start the proxy with KafkaProxy.Start(EmbeddedKafkaCluster, options).",
                nameof(options));
        }

        return StartListeners(upstreamBootstrapServers, new KafkaProxy(options ?? new KafkaProxyOptions(), null));
    }

    /// <summary>Starts a proxy in front of every broker of <paramref name="cluster"/>.</summary>
    /// <remarks>With <see cref="KafkaProxyOptions.AnswerTopicAdministration"/>, the proxy answers CreateTopics and DeleteTopics on the cluster.</remarks>
    public static KafkaProxy Start(EmbeddedKafkaCluster cluster, KafkaProxyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        options ??= new KafkaProxyOptions();
        var topics = options.AnswerTopicAdministration ? new TopicAdministration(cluster) : null;
        return StartListeners(cluster.BootstrapServers, new KafkaProxy(options, topics));
    }

    private static KafkaProxy StartListeners(string upstreamBootstrapServers, KafkaProxy proxy)
    {
        foreach (var server in upstreamBootstrapServers.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var colon = server.LastIndexOf(':');
            var host = server[..colon];
            var port = int.Parse(server[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture);
            proxy._listeners.Add(new ProxyListener(proxy, host, port));
        }

        foreach (var listener in proxy._listeners)
        {
            listener.Start(proxy._stop.Token);
        }

        return proxy;
    }

    /// <summary>The faults of the listener in front of broker <paramref name="nodeId"/> (known once a Metadata response named it).</summary>
    public ProxyFaults FaultsForNode(int nodeId) =>
        _listeners.FirstOrDefault(l => l.NodeId == nodeId)?.Faults
        ?? throw new ArgumentException("No listener has seen broker " + nodeId.ToString(CultureInfo.InvariantCulture) + " in a Metadata response yet.", nameof(nodeId));

    /// <summary>Stops every listener and closes every connection. Idempotent; a call made while another is under way returns when it is done.</summary>
    public ValueTask DisposeAsync()
    {
        lock (_disposeLock)
        {
            _disposing ??= DisposeOnceAsync();
            return new ValueTask(_disposing);
        }
    }

    private async Task DisposeOnceAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (var listener in _listeners)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
        }

        if (TopicAdministration is not null)
        {
            await TopicAdministration.DisposeAsync().ConfigureAwait(false);
        }

        _stop.Dispose();
    }

    /// <summary>The proxy's port for the upstream broker at <paramref name="host"/>:<paramref name="port"/>, or null for one it does not front.</summary>
    internal ProxyListener? ListenerFor(string host, int port, int nodeId)
    {
        foreach (var listener in _listeners)
        {
            if (listener.UpstreamPort == port && (listener.UpstreamHost == host || IsLoopback(host) && IsLoopback(listener.UpstreamHost)))
            {
                listener.NodeId = nodeId;
                return listener;
            }
        }

        return null;
    }

    /// <summary>
    /// The address the proxy gives clients for the upstream broker at <paramref name="host"/>:<paramref name="port"/>
    /// (node <paramref name="nodeId"/>) wherever a response names it: its listener's; null for a broker it does not front.
    /// </summary>
    internal (string Host, int Port)? AdvertisedAddress(string host, int port, int nodeId) =>
        ListenerFor(host, port, nodeId) is { } listener ? ("localhost", listener.Port) : null;

    private static bool IsLoopback(string host) => host == "localhost" || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
}
