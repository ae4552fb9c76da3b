using Messaging.Cluster;
using Messaging.Connection;

namespace Messaging.Producer;

/// <summary>
/// The producer's senders, one per broker that led a partition, and the routing of every partition to its
/// leader's sender from metadata (the produce connections learn the broker list at the same time).
/// </summary>
internal sealed class BrokerSenders : IAsyncDisposable
{
    private readonly RecordAccumulator _accumulator;
    private readonly BrokerConnections _connections;
    private readonly Func<int, BrokerSender> _create;
    private readonly Dictionary<int, BrokerSender> _senders = [];
    private readonly Lock _lock = new();

    /// <summary>The disposals of released senders (<see cref="ReleaseDeparted"/>) not yet seen finished; under <see cref="_lock"/>.</summary>
    private readonly List<Task> _releasing = [];
    private BrokerSender[] _senderList = [];
    private ClusterMetadata? _applied;
    private TopicState[]? _appliedTopics;
    private bool _departed;
    private bool _stopped;

    /// <param name="accumulator">The topics and partitions to route.</param>
    /// <param name="connections">The produce connections, told the brokers each metadata names.</param>
    /// <param name="create">Makes the sender of a broker (not started yet); called under this object's lock, once per broker.</param>
    public BrokerSenders(RecordAccumulator accumulator, BrokerConnections connections, Func<int, BrokerSender> create)
    {
        _accumulator = accumulator;
        _connections = connections;
        _create = create;
    }

    /// <summary>The senders (a snapshot array: reading it allocates nothing).</summary>
    public BrokerSender[] All => Volatile.Read(ref _senderList);

    /// <summary>Makes every sender look again (a flush, memory pressure, the producer id arriving).</summary>
    public void WakeAll()
    {
        foreach (var sender in All)
        {
            sender.Wake();
        }
    }

    /// <summary>Whether <paramref name="metadata"/> or the set of topics changed since partitions were last routed.</summary>
    public bool IsStale(ClusterMetadata metadata) =>
        !ReferenceEquals(metadata, Volatile.Read(ref _applied)) || !ReferenceEquals(_accumulator.Topics, Volatile.Read(ref _appliedTopics));

    /// <summary>Moves partitions to their leaders' senders after a metadata change (starting a sender for a new leader).</summary>
    public void Apply(ClusterMetadata metadata)
    {
        List<BrokerSender>? started = null;
        List<PartitionState>? removed = null;
        lock (_lock)
        {
            var topics = _accumulator.Topics;
            if ((ReferenceEquals(metadata, _applied) && ReferenceEquals(topics, _appliedTopics)) || _stopped)
            {
                return; // nothing new: same snapshot, same topics
            }

            _applied = metadata;
            _appliedTopics = topics;
            var endpoints = new List<BrokerEndpoint>(metadata.Brokers.Count);
            foreach (var broker in metadata.Brokers.Values)
            {
                endpoints.Add(new BrokerEndpoint(broker.Host, broker.Port, broker.NodeId));
            }

            _connections.UpdateBrokers(endpoints);
            var byLeader = new Dictionary<int, List<PartitionState>>();
            foreach (var topic in topics)
            {
                if (!metadata.Topics.TryGetValue(topic.Name, out var info) || info.Partitions.Count == 0)
                {
                    continue;
                }

                // Fewer partitions than we know: a topic deleted and created again with fewer (a new topic id) loses the
                // rest; with the same id it is a lagging broker's view (a topic never shrinks), and changes nothing.
                if (info.Partitions.Count < topic.Partitions.Length && (info.TopicId != topic.TopicId || info.TopicId == Guid.Empty || topic.TopicId == Guid.Empty))
                {
                    (removed ??= []).AddRange(topic.RemovePartitionsFrom(info.Partitions.Count));
                }

                topic.TopicId = info.TopicId;
                topic.EnsurePartitions(info.Partitions.Count);
                var partitions = topic.Partitions;
                for (var p = 0; p < partitions.Length && p < info.Partitions.Count; p++)
                {
                    var partition = partitions[p];
                    var leader = info.Partitions[p].Leader;
                    BrokerSender? sender = null;
                    if (metadata.HasRoutableLeader(info.Partitions[p]))
                    {
                        if (!_senders.TryGetValue(leader, out sender))
                        {
                            sender = _create(leader);
                            _senders[leader] = sender;
                            Volatile.Write(ref _senderList, [.. _senderList, sender]);
                            (started ??= []).Add(sender);
                        }

                        if (!byLeader.TryGetValue(leader, out var list))
                        {
                            byLeader[leader] = list = [];
                        }

                        list.Add(partition);
                    }

                    lock (partition.Sync)
                    {
                        partition.Leader = sender is null ? -1 : leader;
                        partition.Sender = sender;
                    }
                }
            }

            var departed = false;
            foreach (var (id, sender) in _senders)
            {
                sender.SetPartitions(byLeader.TryGetValue(id, out var list) ? [.. list] : []);
                departed |= !metadata.Brokers.ContainsKey(id);
            }

            Volatile.Write(ref _departed, departed);
        }

        if (started is not null)
        {
            foreach (var sender in started)
            {
                sender.Start();
            }
        }

        if (removed is not null)
        {
            _accumulator.FailRemoved(removed); // outside the lock: failing runs delivery handlers
        }
    }

    /// <summary>
    /// Stops and releases the senders of brokers that left the metadata, each once it has nothing left to send: no
    /// partition routed to it (the routing moved them to their new leaders) and no request in flight. A cluster that
    /// replaces brokers (new ids over time) would otherwise leave the producer an idle sender, with its loops and
    /// buffers, for every broker it ever saw. A broker id that comes back gets a new sender.
    /// </summary>
    public void ReleaseDeparted()
    {
        if (!Volatile.Read(ref _departed))
        {
            return;
        }

        lock (_lock)
        {
            if (_stopped || _applied is null)
            {
                return;
            }

            List<BrokerSender>? released = null;
            var departed = false;
            foreach (var (id, sender) in _senders)
            {
                if (_applied.Brokers.ContainsKey(id))
                {
                    continue;
                }

                if (sender.Partitions.Length == 0 && sender.InFlight == 0)
                {
                    (released ??= []).Add(sender);
                }
                else
                {
                    departed = true; // looked at again next time
                }
            }

            Volatile.Write(ref _departed, departed);
            if (released is null)
            {
                return;
            }

            foreach (var sender in released)
            {
                _senders.Remove(sender.NodeId);
            }

            Volatile.Write(ref _senderList, [.. _senderList.Where(sender => !released.Contains(sender))]);
            _releasing.RemoveAll(static task => task.IsCompleted);
            foreach (var sender in released)
            {
                // On the pool, not under this lock; a request a drain under way still sends is answered before it stops.
                _releasing.Add(Task.Run(() => sender.DisposeAsync().AsTask()));
            }
        }
    }

    /// <summary>Routes nothing more from now on (the producer is closing).</summary>
    public void Stop()
    {
        lock (_lock)
        {
            _stopped = true;
        }
    }

    /// <summary>Stops every sender after its requests in flight are answered (or their connection fails), and waits for the released ones to have stopped.</summary>
    public async ValueTask DisposeAsync()
    {
        Stop();
        foreach (var sender in All)
        {
            await sender.DisposeAsync().ConfigureAwait(false);
        }

        Task[] releasing;
        lock (_lock)
        {
            releasing = [.. _releasing]; // none is added once stopped
        }

        await Task.WhenAll(releasing).ConfigureAwait(false);
    }
}
