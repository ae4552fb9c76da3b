using Messaging.Cluster;
using Messaging.Connection;
using Messaging.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Messaging.Producer;

/// <summary>
/// Builds the producer's parts, hands each the narrow things it uses, and closes them in order. The parts: the
/// cluster client (metadata, InitProducerId), a connection pool of its own for Produce requests, the accumulator and
/// its memory pool, the idempotence state and the requester of the producer id, one <see cref="BrokerSender"/> per
/// leader (<see cref="BrokerSenders"/>), the wait for a topic's first metadata, and the housekeeping loop.
/// </summary>
/// <remarks>
/// Produce requests use their own <see cref="BrokerConnections"/> (one connection per broker, like franz-go's
/// dedicated produce connection): each sender then owns every in-flight slot of its connection, which is what keeps
/// its requests in order on the wire; metadata and InitProducerId go through the cluster client's pool.
/// </remarks>
internal sealed partial class ProducerCore : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly ProducerHousekeeping _housekeeping;

    public ProducerCore(KafkaProducerOptions options)
    {
        Settings = new ProducerSettings(options);
        Cluster = new ClusterClient(options);
        Connections = new BrokerConnections(Cluster.Settings, BrokerEndpoint.ParseList(options.BootstrapServers));
        Connections.BrokerDisconnected += OnBrokerDisconnected;
        Pool = new BufferPool(Settings.BufferMemory, Settings.BatchSize, Settings.Clock);
        Log = new ProducerLog(GuardedLogger.Create(options.LoggerFactory, "Messaging.Producer"));
        Accumulator = new RecordAccumulator(Settings, Pool, Idempotence, Log);
        Senders = new BrokerSenders(Accumulator, Connections, CreateSender);
        ProducerId = new ProducerIdRequester(Cluster, Idempotence, Accumulator, Settings, Log, Senders.WakeAll, _stop.Token);
        Topics = new TopicMetadataWaiter(Accumulator, Cluster.Metadata, Senders, Settings);
        _housekeeping = new ProducerHousekeeping(Accumulator, Senders, Cluster.Metadata, Log, Settings.Clock, Settings.MetadataMaxIdleTicks, _stop.Token);
    }

    public ProducerSettings Settings { get; }

    public ClusterClient Cluster { get; }

    /// <summary>The connections Produce requests go through (the producer's own pool).</summary>
    public BrokerConnections Connections { get; }

    public BufferPool Pool { get; }

    public RecordAccumulator Accumulator { get; }

    public IdempotenceState Idempotence { get; } = new();

    public ProducerIdRequester ProducerId { get; }

    public BrokerSenders Senders { get; }

    public TopicMetadataWaiter Topics { get; }

    public ProducerLog Log { get; }

    /// <summary>
    /// Waits until every record produced so far is delivered or failed — those still waiting in the lane for
    /// metadata or memory first, then every batch — sending without lingering meanwhile.
    /// </summary>
    public async Task FlushAsync(ProduceLane lane, CancellationToken cancellationToken)
    {
        Accumulator.BeginFlush();
        try
        {
            Senders.WakeAll();
            await lane.WhenEmptyAsync(cancellationToken).ConfigureAwait(false);
            var pending = Accumulator.IncompleteBatches();
            if (pending.Count > 0)
            {
                await Task.WhenAll(pending).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            Accumulator.EndFlush();
        }
    }

    /// <summary>
    /// Closes: buffered records (and those waiting in the lane) are sent without lingering for up to
    /// <paramref name="timeout"/>; what is still not delivered then fails with <see cref="ProduceErrorKind.Disposed"/>;
    /// then everything stops. The caller has stopped new calls already.
    /// </summary>
    public async ValueTask CloseAsync(ProduceLane lane, TimeSpan timeout)
    {
        using (var deadline = Settings.Clock.CancelAfter(timeout))
        {
            try
            {
                await FlushAsync(lane, deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                // Give up: fail the rest below.
            }
        }

        Accumulator.Close();
        Pool.Close();
        Accumulator.BeginFlush();
        await lane.StopAsync(static entry => ProducerErrors.Disposed(new TopicPartition(entry.Topic, entry.Partition), null)).ConfigureAwait(false);
        Accumulator.FailQueued(static (partition, batch) => ProducerErrors.Disposed(partition.TopicPartition, batch));

        // Closing the produce connections fails whatever is still in flight (it is settled as Disposed).
        await _stop.CancelAsync().ConfigureAwait(false);
        Senders.Stop();
        await Connections.DisposeAsync().ConfigureAwait(false);
        await Senders.DisposeAsync().ConfigureAwait(false);
        Accumulator.FailQueued(static (partition, batch) => ProducerErrors.Disposed(partition.TopicPartition, batch));
        await _housekeeping.WhenStoppedAsync().ConfigureAwait(false);
        await ProducerId.WhenIdleAsync().ConfigureAwait(false);
        await Cluster.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Releases what <see cref="CloseAsync"/> leaves behind (call after it).</summary>
    public void Dispose() => _stop.Dispose();

    private BrokerSender CreateSender(int nodeId) =>
        new(nodeId, Settings, Connections, Accumulator, Idempotence, ProducerId, Cluster.Metadata, Cluster.Settings.Limits, Log);

    private void OnBrokerDisconnected(int nodeId, Exception reason) => Cluster.Metadata.RequestRefresh();
}
