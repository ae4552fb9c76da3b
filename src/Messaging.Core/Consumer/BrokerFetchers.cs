namespace Messaging.Consumer;

/// <summary>The consumer's broker fetchers, one per partition leader, started on first use and stopped together.</summary>
internal sealed class BrokerFetchers : IAsyncDisposable
{
    private readonly Dictionary<int, BrokerFetcher> _brokers = [];
    private readonly Func<int, BrokerFetcher> _create;
    private readonly Lock _lock = new();

    /// <param name="create">Makes and starts the fetcher of a broker; called under this object's lock, once per broker.</param>
    public BrokerFetchers(Func<int, BrokerFetcher> create) => _create = create;

    /// <summary>Fetch requests sent to every broker so far (for tests and diagnostics).</summary>
    public int RequestsSent
    {
        get
        {
            lock (_lock)
            {
                int sum = 0;
                foreach (var broker in _brokers.Values)
                {
                    sum += broker.RequestsSent;
                }

                return sum;
            }
        }
    }

    /// <summary>How many broker fetchers were started (for tests and diagnostics).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _brokers.Count;
            }
        }
    }

    /// <summary>The fetcher for <paramref name="node"/>, started on first use.</summary>
    /// <remarks>Called under the cursors' lock (that lock, then this one: never the other way round).</remarks>
    public BrokerFetcher Get(int node)
    {
        lock (_lock)
        {
            if (!_brokers.TryGetValue(node, out var broker))
            {
                broker = _create(node);
                _brokers[node] = broker;
            }

            return broker;
        }
    }

    /// <summary>Wakes every broker fetcher: partitions may have become fetchable, or budget freed.</summary>
    public void SignalAll()
    {
        lock (_lock)
        {
            foreach (var broker in _brokers.Values)
            {
                broker.Signal();
            }
        }
    }

    /// <summary>Stops every broker fetcher started so far (their stop token is cancelled first), together: each closes its broker's fetch session.</summary>
    public async ValueTask DisposeAsync()
    {
        List<BrokerFetcher> brokers;
        lock (_lock)
        {
            brokers = [.. _brokers.Values];
        }

        await Task.WhenAll(brokers.Select(broker => broker.DisposeAsync().AsTask())).ConfigureAwait(false);
    }
}
