using Messaging.Connection;
using Messaging.Errors;
using Messaging.Security;

namespace Messaging.Cluster;

/// <summary>
/// What every client (admin, producer, consumer) stands on: settings, one connection per broker, and cluster
/// metadata, with the routing every request needs — to the controller, to a partition's leader, to any broker.
/// Disposing it closes every connection and stops the metadata refresher.
/// </summary>
internal sealed class ClusterClient : IAsyncDisposable
{
    private readonly ConnectionSecurity _security;
    private int _disposed;

    public ClusterClient(KafkaClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        // The client's clock, like every other timer of the client: SASL session renewal (KIP-368), its timeout and the
        // OAUTHBEARER token's refresh count on it.
        _security = ConnectionSecurity.Create(options.SecurityProtocol, options.Ssl, options.Sasl, options.TransportFactory, options.TimeProvider);
        Settings = new ConnectionSettings(options)
        {
            TransportFactory = _security.TransportFactory,
            Authenticator = _security.Authenticator,
        };
        Connections = new BrokerConnections(Settings, BrokerEndpoint.ParseList(options.BootstrapServers));
        Metadata = new MetadataRefresher(Connections, Settings, options.MetadataMaxAge, options.AllowAutoCreateTopics);
    }

    public ConnectionSettings Settings { get; }

    public BrokerConnections Connections { get; }

    public MetadataRefresher Metadata { get; }

    /// <summary>
    /// The connection for controller requests (CreateTopics, DeleteTopics): the controller when metadata names a
    /// broker as controller, else any broker — in KRaft clusters the reported id is a random broker and every broker
    /// forwards these requests to the quorum controller (KIP-590).
    /// </summary>
    public async ValueTask<BrokerConnection> GetControllerAsync(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        var metadata = Metadata.Current;
        if (!metadata.Brokers.ContainsKey(metadata.ControllerId))
        {
            metadata = await Metadata.RefreshAsync(cancellationToken).ConfigureAwait(false);
        }

        return metadata.Brokers.ContainsKey(metadata.ControllerId)
            ? await Connections.GetAsync(metadata.ControllerId, cancellationToken).ConfigureAwait(false)
            : await Connections.GetAnyAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Any connection (an open one, else a bootstrap server).</summary>
    public ValueTask<BrokerConnection> GetAnyAsync(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        return Connections.GetAnyAsync(cancellationToken);
    }

    /// <summary>
    /// True for errors that mean our metadata is stale: the caller should refresh and retry. The Java client's
    /// <c>InvalidMetadataException</c> family — a failed log directory (KAFKA_STORAGE_ERROR) or a lost broker
    /// (NETWORK_EXCEPTION) moves leadership too — plus NOT_CONTROLLER for admin requests.
    /// </summary>
    public static bool MeansStaleMetadata(ErrorCode code) => code is ErrorCode.NotLeaderOrFollower or ErrorCode.UnknownTopicOrPartition
        or ErrorCode.LeaderNotAvailable or ErrorCode.FencedLeaderEpoch or ErrorCode.NotController or ErrorCode.UnknownLeaderEpoch
        or ErrorCode.KafkaStorageError or ErrorCode.NetworkException or ErrorCode.ReplicaNotAvailable or ErrorCode.UnknownTopicId
        or ErrorCode.InconsistentTopicId;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await Metadata.DisposeAsync().ConfigureAwait(false);
        await Connections.DisposeAsync().ConfigureAwait(false);
        _security.Dispose();
    }

    private void ThrowIfDisposed()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            throw KafkaExceptions.Disposed("The client");
        }
    }
}
